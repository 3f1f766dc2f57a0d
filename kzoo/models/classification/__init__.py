from kzoo.models.classification.classifier import (
    build_classifier,
    classifier_targets,
    compile_classifier,
    decode_classifier,
)
