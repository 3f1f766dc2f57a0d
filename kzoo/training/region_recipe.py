"""What the recipes of models with a Region Proposal Network share: their call to ``train``.

Faster R-CNN, R-FCN, Mask R-CNN and keypoint R-CNN all take proposal counts
(test time and training), the RoIs sampled per image, the RPN's width and,
where they have one, the width of the fully connected box head; and all
train their training graph with ``compile_two_stage``.
"""

from kzoo.training.recipe import train_recipe


def train_rpn_recipe(args, model_kwargs, rpn_channels=None):
    """``train`` with the RPN settings of ``add_rpn_arguments`` merged into ``model_kwargs``.

    The RPN is ``rpn_channels`` wide (``args.channels`` by default); with
    ``--fc`` the box head's ``representation_size`` is set too.
    """
    from kzoo.models.two_stage import compile_two_stage

    kwargs = dict(model_kwargs)
    kwargs["rpn"] = {"num_channels": rpn_channels or args.channels, "post_nms_top_k": args.proposals}
    if getattr(args, "fc", None) is not None:
        kwargs["roi_heads"] = {**kwargs.get("roi_heads", {}), "representation_size": args.fc}
    return train_recipe(
        args,
        lambda model, strategy: compile_two_stage(model, strategy, args.learning_rate),
        model_kwargs=kwargs,
        training_settings={
            "rpn_post_nms_top_k": args.train_proposals,
            "roi_num_samples": args.rois,
            "instance_num_samples": getattr(args, "instance_rois", None),
        },
    )
