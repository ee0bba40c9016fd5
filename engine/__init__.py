"""The playground's engine: pure PyTorch + NumPy, no Streamlit.

Everything the app can do, a script can do: see `python -m engine -h`.
"""

# isort: off
# Each component module fills its registry as it is imported (engine/registry.py); importing
# them with the package makes every registry complete before any config is checked. Their order
# here is the order `engine.config.registries()` lists them in (the Components page's).
import engine.data.datasets
import engine.initializers
import engine.activations
import engine.norms
import engine.regularizers
import engine.optimizers
import engine.schedules
import engine.losses  # noqa: F401 (the block binds one name, `engine`, reported once)

# isort: on
from engine.config import Config, DataConfig, ModelConfig, TrainConfig
from engine.registry import ConfigError

__all__ = ["Config", "ConfigError", "DataConfig", "ModelConfig", "TrainConfig"]
