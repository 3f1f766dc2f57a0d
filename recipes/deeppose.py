"""Recipe: DeepPose on single stick figures (14 joints).

Trains ``build_deeppose``, a joint regressor followed by cascade refinement
stages on crops around each joint, with the visibility-weighted L2 loss on
every stage, using ``model.fit`` under ``tf.distribute`` (MirroredStrategy
over all local GPUs; MultiWorkerMirroredStrategy when TF_CONFIG names several
workers), with checkpoints, resumable state and TensorBoard logs in ``--out``.

    python recipes/deeppose.py --epochs 30 --out runs/deeppose
    kzoo train deeppose --stages 2 --backbone alexnet
"""

import argparse

from kzoo.models.pose import CascadeConfig, compile_deeppose
from kzoo.training import train


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/deeppose", help="checkpoints, logs and history go here")
    parser.add_argument("--backbone", default="tiny", help="a name from `kzoo backbones` (the paper: alexnet)")
    parser.add_argument("--feature-level", default="P5", help="backbone level the regressor reads")
    parser.add_argument("--hidden-units", type=int, default=512)
    parser.add_argument("--dataset", default="stick_figures/single")
    parser.add_argument("--image-size", type=int, default=64, help="model input side; images are resized to it")
    parser.add_argument("--stages", type=int, default=1, help="cascade refinement stages (0: plain regressor)")
    parser.add_argument("--crop-size", type=int, default=16, help="side of each joint's crop, pixels")
    parser.add_argument("--box-scale", type=float, default=1.0, help="crop side in torso diameters")
    parser.add_argument("--jitter", type=float, default=0.0, help="training shift of stage inputs, crop sides")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch, split across replicas")
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the train split")
    parser.add_argument("--validation-steps", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--norm", choices=("l2", "l1"), default="l2", help="joint distance in the loss")
    parser.add_argument("--cpu-replicas", type=int, default=None, help="split the CPU into N replicas (no GPU)")
    parser.add_argument("--verbose", type=int, default=1)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cascade = CascadeConfig(stages=args.stages, crop_size=args.crop_size, box_scale=args.box_scale, jitter=args.jitter)
    model, history = train(
        "deeppose",
        args.out,
        compile_fn=lambda model, strategy: compile_deeppose(model, strategy, args.learning_rate, args.norm),
        model_kwargs={
            "backbone": args.backbone,
            "input_shape": (args.image_size, args.image_size, 3),
            "feature_level": args.feature_level,
            "hidden_units": args.hidden_units,
            "cascade": cascade,
        },
        epochs=args.epochs,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        validation_steps=args.validation_steps,
        dataset=args.dataset,
        cpu_replicas=args.cpu_replicas,
        verbose=args.verbose,
    )
    return model, history


if __name__ == "__main__":
    main()
