"""Mask R-CNN's per-instance heads on a two-stage detector: masks and keypoints.

At test time the heads run on the final detections (after NMS), so every
kept box gets its mask and its joints and nothing else is computed. While
training they run on the positive RoIs of the box head's sample: the
sampler puts positives first, so the first ``int(num_samples *
positive_fraction)`` sampled RoIs hold every positive, and the heads read
only those (the rest are background or unused slots, which the losses skip).
"""


from kzoo.layers import RoIKeypointLosses, RoIMaskLosses


def instance_outputs(parts, features, detections):
    """``detections`` with ``detection_masks`` and the keypoint outputs of the heads ``parts`` has."""
    outputs = dict(detections)
    boxes, classes = detections["detection_boxes"], detections["detection_classes"]
    if parts.mask_head is not None:
        logits = parts.mask_head(parts.pool(features, boxes, parts.mask_pool))
        outputs["detection_masks"] = parts.mask_decoder([logits, classes, boxes])
    if parts.keypoint_head is not None:
        heatmaps = parts.keypoint_head(parts.pool(features, boxes, parts.keypoint_pool))
        outputs.update(parts.keypoint_decoder([heatmaps, boxes]))
    return outputs


def instance_losses(parts, features, sample, inputs, max_positives):
    """Per-image ``mask`` and ``keypoint`` losses of the heads ``parts`` has, on the sample's positives."""
    losses = {}
    if parts.mask_head is None and parts.keypoint_head is None:
        return losses
    rois, labels, matches = (sample[key][:, :max_positives] for key in ("rois", "labels", "matches"))
    if parts.mask_head is not None:
        logits = parts.mask_head(parts.pool(features, rois, parts.mask_pool))
        losses["mask"] = RoIMaskLosses(name="mask_losses")([logits, rois, labels, matches, inputs["gt_masks"]])
    if parts.keypoint_head is not None:
        heatmaps = parts.keypoint_head(parts.pool(features, rois, parts.keypoint_pool))
        losses["keypoint"] = RoIKeypointLosses(name="keypoint_losses")(
            [heatmaps, rois, labels, matches, inputs["gt_keypoints"]]
        )
    return losses

