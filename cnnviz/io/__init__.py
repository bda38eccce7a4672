"""Files: session files, Keras layer configs, generated Keras/PyTorch code, images, data sets. No Qt here."""

from cnnviz.io.codegen import generate_code
from cnnviz.io.datasets import load_digits, load_image_folder
from cnnviz.io.errors import SessionError
from cnnviz.io.image import load_image
from cnnviz.io.keras_config import export_keras_config, import_keras_config, pipeline_from_keras, pipeline_to_keras
from cnnviz.io.session import FORMAT, SUFFIX, Session, load_session, save_session, session_from_dict, session_to_dict

__all__ = [
    "FORMAT", "SUFFIX", "Session", "SessionError", "export_keras_config", "generate_code", "import_keras_config",
    "load_digits", "load_image", "load_image_folder", "load_session", "pipeline_from_keras", "pipeline_to_keras", "save_session",
    "session_from_dict", "session_to_dict",
]
