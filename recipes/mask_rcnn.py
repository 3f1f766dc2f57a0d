"""Recipe: Mask R-CNN (Faster R-CNN FPN + a mask per detection) on ``shapes``.

Trains ``build_mask_rcnn`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``. ``fit`` trains the model's training graph:
Faster R-CNN's four losses plus the mask loss (binary cross-entropy of the
positive RoIs' masks on their ground-truth class, against the matched masks
cropped to the RoIs inside the graph), each reported. Checkpoints hold the
inference graph: images in, detections and 28x28 box-relative masks out.

    python recipes/mask_rcnn.py --epochs 20 --out runs/mask_rcnn
    python recipes/mask_rcnn.py --dataset fashion_scenes --mask-channels 128
    kzoo train mask_rcnn --epochs 20 --out runs/mask_rcnn
"""

from kzoo_cli.argtypes import positive_int
from kzoo_cli.recipe_args import add_rpn_arguments, recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "mask_rcnn", dataset="shapes", image_size=128, epochs=20, batch_size=8,
        backbone_help="a name from `kzoo backbones` (resnet50 or resnet101 in the paper)",
    )
    parser.add_argument("--mask-channels", type=positive_int, default=64, help="the mask head's convolutions (256)")
    return add_rpn_arguments(parser, instance_head=True).parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.training.region_recipe import train_rpn_recipe

    return train_rpn_recipe(args, {"fpn_channels": args.channels, "mask_head": {"channels": args.mask_channels}})


if __name__ == "__main__":
    main()
