"""Model builders by task family, and the registry mapping names to them."""

from kzoo.models.registry import MODELS, ModelSpec, build, get_spec, list_models, spec_of
