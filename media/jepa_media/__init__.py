"""jepa_media: the one video preprocessing (decode, sample, resize, crop, normalise) that the
gateway serves with and the export stage verifies with. PyAV and numpy only, so that neither
stage imports the other."""

from jepa_media.errors import FieldError, InvalidVideo, VideoLimitExceeded
from jepa_media.pixels import ClipGeometry, normalise, resize_and_crop
from jepa_media.video import DecodeLimits, EncodedImage, PreparedVideo, RawFrames, SamplingPlan, WindowSpan, prepare_video

__all__ = [
    "ClipGeometry",
    "DecodeLimits",
    "EncodedImage",
    "FieldError",
    "InvalidVideo",
    "PreparedVideo",
    "RawFrames",
    "SamplingPlan",
    "VideoLimitExceeded",
    "WindowSpan",
    "normalise",
    "prepare_video",
    "resize_and_crop",
]
