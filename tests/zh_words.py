"""What counts as English left on a page shown in Chinese: words of three or more Latin
letters, except names of methods, products and functions that the course notes write in Latin
letters in Chinese text too (the AppTest checks in tests/ui/zh_check.py and the browser check in
tests/e2e/test_chinese_browser.py share this list)."""

from __future__ import annotations

import re

WORD = re.compile(r"[A-Za-z]{3,}")
HAN = re.compile(r"[\u4e00-\u9fff]")
ALLOWED = {
    # proper names of methods and products, as the course notes write them
    "MNIST", "SGD", "Adam", "AdamW", "ReLU", "TensorFlow", "Playground", "Dropout", "CSV",
    "Xavier", "Glorot", "Kaiming", "Nesterov", "RMSprop", "RMSProp", "AdaGrad", "Adagrad",
    "AdaDelta", "Adadelta", "NAdam", "Nadam", "Maxout", "DropConnect", "PReLU", "ELU", "SELU",
    "GELU", "SiLU", "Swish", "Mish", "Softplus", "LeCun", "Leaky", "Spatial",
    "MLP", "CNN", "PCA", "ROC", "AUC", "RNN", "LSTM", "GRU", "BPTT", "IRNN",
    "JSON", "PyTorch", "Optuna", "TPE", "Streamlit",
    # test functions of optimization (the optimizer lab's surfaces), named after people
    "Rosenbrock", "Himmelblau", "Beale", "Goldstein", "Price", "Styblinski", "Tang",
    "tanh", "sigmoid", "sin", "cos", "exp", "log", "max", "min",  # functions in formulas
    "CPU", "CUDA", "GPU", "MPS",  # devices
    "Language", "English",  # the language switch names both languages on purpose
}  # fmt: skip
