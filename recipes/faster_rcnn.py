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

from kzoo_cli.recipe_args import add_rpn_arguments, recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "faster_rcnn", dataset="shapes", image_size=128, epochs=20, batch_size=8,
        backbone_help="a name from `kzoo backbones` (vgg16 or resnet101 in the papers)",
    )
    parser.add_argument("--variant", choices=["fpn", "c4"], default="fpn", help="feature pyramid or one stride-16 map")
    parser.add_argument("--pooling", choices=["align", "pool"], default="align", help="RoIAlign or RoI max pooling")
    return add_rpn_arguments(parser).parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.training.region_recipe import train_rpn_recipe

    model_kwargs = {"variant": args.variant, "fpn_channels": args.channels, "roi_heads": {"pooling": args.pooling}}
    return train_rpn_recipe(args, model_kwargs)


if __name__ == "__main__":
    main()
