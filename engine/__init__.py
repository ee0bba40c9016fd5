"""The playground's engine: pure PyTorch + NumPy, no Streamlit.

Everything the app can do, a script can do: see `python -m engine -h`.
"""

from engine.config import Config, DataConfig, ModelConfig, TrainConfig
from engine.registry import ConfigError

__all__ = ["Config", "ConfigError", "DataConfig", "ModelConfig", "TrainConfig"]
