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

from kzoo.argtypes import positive_int
from kzoo.models.two_stage import compile_two_stage
from kzoo.training import recipe_parser, train_recipe


def parse_args(argv=None):
    parser = recipe_parser(
        __doc__, "keypoint_rcnn", dataset="stick_figures", image_size=128, epochs=20, batch_size=8,
        backbone_help="a name from `kzoo backbones` (resnet50 in the paper)",
    )
    parser.add_argument("--channels", type=positive_int, default=64, help="FPN and RPN channels (256 in the paper)")
    parser.add_argument("--fc", type=positive_int, default=256, help="width of the box head's two fully connected layers")
    parser.add_argument("--keypoint-channels", type=positive_int, default=64, help="the keypoint head's convolutions (512)")
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
        "keypoint_head": {"channels": args.keypoint_channels},
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
