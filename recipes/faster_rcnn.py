"""Recipe: Faster R-CNN (RPN + Fast R-CNN head, FPN or C4) on ``shapes``.

Trains ``build_faster_rcnn`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``. ``fit`` trains the model's training graph,
which shares its layers: anchor targets, proposals, RoI sampling and the
four losses (RPN objectness, RPN box, RoI class, RoI box, each reported)
are built inside it, in one pass of the backbone per step. Checkpoints
hold the inference graph (images in, detections out).

    python recipes/faster_rcnn.py --epochs 20 --out runs/faster_rcnn
    python recipes/faster_rcnn.py --variant c4 --pooling pool      # the original: one map, RoI max pooling
    python recipes/faster_rcnn.py --backbone resnet50 --image-size 640 --channels 256 --fc 1024
    kzoo train faster_rcnn --epochs 20 --out runs/faster_rcnn
"""

from kzoo.argtypes import positive_int
from kzoo.models.two_stage import compile_two_stage
from kzoo.training import recipe_parser, train_recipe


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "faster_rcnn", dataset="shapes", image_size=128, epochs=20, batch_size=8,
        backbone_help="a name from `kzoo backbones` (vgg16 or resnet101 in the papers)",
    )
    parser.add_argument("--variant", choices=["fpn", "c4"], default="fpn", help="feature pyramid or one stride-16 map")
    parser.add_argument("--pooling", choices=["align", "pool"], default="align", help="RoIAlign or RoI max pooling")
    parser.add_argument("--channels", type=positive_int, default=64, help="FPN and RPN channels (256 in the papers)")
    parser.add_argument("--fc", type=positive_int, default=256, help="width of the box head's two fully connected layers")
    parser.add_argument("--proposals", type=positive_int, default=300, help="proposals per image at test time")
    parser.add_argument("--train-proposals", type=positive_int, default=300, help="proposals per image while training")
    parser.add_argument("--rois", type=positive_int, default=128, help="RoIs sampled per training image (512 in the paper)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model_kwargs = {
        "variant": args.variant,
        "fpn_channels": args.channels,
        "rpn": {"num_channels": args.channels, "post_nms_top_k": args.proposals},
        "roi_heads": {"pooling": args.pooling, "representation_size": args.fc},
    }
    training = {"rpn_post_nms_top_k": args.train_proposals, "roi_num_samples": args.rois}
    return train_recipe(
        args,
        lambda model, strategy: compile_two_stage(model, strategy, args.learning_rate),
        model_kwargs=model_kwargs,
        training_settings=training,
    )


if __name__ == "__main__":
    main()
