"""Session-state keys: `forget` drops one page's keys under a prefix, nothing else."""

from streamlit.testing.v1 import AppTest


def _forget_widgets() -> None:
    from ui.state import forget

    forget("pg", "w.")


def test_forget_drops_only_that_pages_keys_under_the_prefix():
    at = AppTest.from_function(_forget_widgets)
    kept = {"pg.values": 1, "pg.run": 2, "mnist.w.train.lr": 3, "pgx.w.a": 4, "pg.wide": 5}
    for key, value in {**kept, "pg.w.train.lr": 6, "pg.w.model.hidden.0": 7}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception
    assert {k: at.session_state[k] for k in kept} == kept
    assert "pg.w.train.lr" not in at.session_state
    assert "pg.w.model.hidden.0" not in at.session_state
