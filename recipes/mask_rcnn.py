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

from kzoo.argtypes import positive_int
from kzoo.models.two_stage import compile_two_stage
from kzoo.training import recipe_parser, train_recipe


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "mask_rcnn", dataset="shapes", image_size=128, epochs=20, batch_size=8,
        backbone_help="a name from `kzoo backbones` (resnet50 or resnet101 in the paper)",
    )
    parser.add_argument("--channels", type=positive_int, default=64, help="FPN and RPN channels (256 in the paper)")
    parser.add_argument("--fc", type=positive_int, default=256, help="width of the box head's two fully connected layers")
    parser.add_argument("--mask-channels", type=positive_int, default=64, help="the mask head's convolutions (256)")
    parser.add_argument("--proposals", type=positive_int, default=300, help="proposals per image at test time")
    parser.add_argument("--train-proposals", type=positive_int, default=300, help="proposals per image while training")
    parser.add_argument("--rois", type=positive_int, default=128, help="RoIs sampled per training image (512 in the paper)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model_kwargs = {
        "fpn_channels": args.channels,
        "rpn": {"num_channels": args.channels, "post_nms_top_k": args.proposals},
        "roi_heads": {"representation_size": args.fc},
        "mask_head": {"channels": args.mask_channels},
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
