"""Recipe: keypoint R-CNN (Mask R-CNN for multi-person pose, 14 joints) on ``stick_figures``.

Trains ``build_keypoint_rcnn`` with ``model.fit`` under ``tf.distribute``
(MirroredStrategy over all local GPUs; MultiWorkerMirroredStrategy when
TF_CONFIG names several workers), with checkpoints, resumable state and
TensorBoard logs in ``--out``. ``fit`` trains the model's training graph:
Faster R-CNN's four losses plus the keypoint loss (a softmax cross-entropy
over each visible joint's 56x56 heatmap on the positive RoIs), each
reported. Checkpoints hold the inference graph: images in, people and their
joints out.

    python recipes/keypoint_rcnn.py --epochs 20 --out runs/keypoint_rcnn
    kzoo train keypoint_rcnn --epochs 20 --out runs/keypoint_rcnn
"""

from kzoo_cli.argtypes import positive_int
from kzoo_cli.recipe_args import add_rpn_arguments, recipe_parser


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "keypoint_rcnn", dataset="stick_figures", image_size=128, epochs=20, batch_size=8,
        backbone_help="a name from `kzoo backbones` (resnet50 in the paper)",
    )
    parser.add_argument("--keypoint-channels", type=positive_int, default=64,
                        help="the keypoint head's convolutions (512)")
    return add_rpn_arguments(parser, instance_head=True).parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from kzoo.training.region_recipe import train_rpn_recipe

    model_kwargs = {"fpn_channels": args.channels, "keypoint_head": {"channels": args.keypoint_channels}}
    return train_rpn_recipe(args, model_kwargs)


if __name__ == "__main__":
    main()
