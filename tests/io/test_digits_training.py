"""The issue's small CNN on the UCI digits: Conv2D(8, 3) → ReLU → MaxPooling2D(2) → Flatten → Dense(10, softmax)
reaches ≥ 95 % validation accuracy in a few seconds."""

import numpy as np

from cnnviz.core import Conv2D, Dense, Flatten, MaxPooling2D, Pipeline, ReLU
from cnnviz.core.training import Trainer, train_validation_split
from cnnviz.io import load_digits


def test_digits_cnn_reaches_95_percent_validation_accuracy():
    images, labels = load_digits()
    (x, y), (x_val, y_val) = train_validation_split(images, labels, 0.2, seed=0)
    model = Pipeline((8, 8, 1), [Conv2D(8, 3), ReLU(), MaxPooling2D(2), Flatten(), Dense(10, activation="softmax")],
                     seed=0)
    trainer = Trainer(model, "sparse_categorical_crossentropy", {"class_name": "Adam", "config": {"learning_rate": 0.01}},
                      metrics=["accuracy"], seed=0)
    for progress in trainer.fit(x, y, epochs=12, batch_size=32, validation_data=(x_val, y_val)):
        pass
    assert progress.step == 12 * 45 and progress.val_metrics["accuracy"] >= 0.95
    probabilities = trainer.predict(x_val[:5])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)  # predict gives the softmax
