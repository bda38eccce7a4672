"""Speed of opening and exporting models (medians). Run: python benchmarks/bench_models.py

Opening each fixture in tests/fixtures/models/ (Keras .keras and .h5, ONNX), exporting the largest
pipeline as ONNX, and writing a training script.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from timing import median_ms

from cnnviz.io import Session
from cnnviz.io.model_import import import_model
from cnnviz.io.onnx_export import export_onnx
from cnnviz.io.train_codegen import generate_training_script

MODELS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "models"


def main():
    for name in ("every_layer.keras", "every_layer.h5", "classifier.keras", "features.onnx", "onnx_classifier.onnx"):
        print(f"open {name:24s} {median_ms(lambda name=name: import_model(MODELS / name)):8.1f} ms")
    model = import_model(MODELS / "features.onnx")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "m.onnx"
        print(f"export ONNX, 18 layers       {median_ms(lambda: export_onnx(model.pipeline, out)):8.1f} ms")
    session = Session(model.session().input, model.pipeline,
                      training={"loss": {"class_name": "MeanSquaredError", "config": {}},
                                "optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.01}},
                                "batch_size": 32, "epochs": 1, "seed": 0, "validation_split": 0.0,
                                "data": {"source": "digits"}})
    print(f"training script (PyTorch)    {median_ms(lambda: generate_training_script(session, 'pytorch')):8.1f} ms")


if __name__ == "__main__":
    main()
