"""Streamlit helpers the pages share: controls, URL state, the live loop, charts and images.

Imports go one way: pages -> ui -> engine. Nothing here does maths a script would need; that
lives in engine/.
"""
