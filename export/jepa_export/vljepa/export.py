"""Export a VL-JEPA checkpoint as served models: the X-encoder (`vjepa2_encoder`), the predictor
(`vljepa_predictor`), the Y-encoder with its projection (`text_encoder`), the caption decoder step
(`text_decoder`), and the `vljepa_video` ensemble (pixels -> X-encoder -> predictor) so the visual
token tensor never leaves Triton. Every model of the shared space carries the same
`jepa.embedding_space`, so the gateway knows text queries and videos are comparable.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import torch
from pydantic import BaseModel

from jepa_export import checkpoints, tensorrt_plan
from jepa_export.jobs import (
    VERIFICATION_SENTENCES,
    ExportJob,
    JobFactory,
    model_settings,
    text_encoder_job,
    verification_clip,
    video_parameters,
    weights_fingerprint,
)
from jepa_export.report import QualityCheck
from jepa_export.repository import EnsembleSettings, EnsembleStep, TensorSettings, WarmupInput, WarmupSettings
from jepa_export.settings import ExportSettings
from jepa_export.vljepa.config import BOS_ID, EOS_ID
from jepa_export.vljepa.model import CheckpointError as VLJepaCheckpointError
from jepa_export.vljepa.model import VLJepa, load_vljepa, resolve_text_encoder_dir
from jepa_export.vljepa.parts import num_visual_tokens
from jepa_export.vljepa.quality import ArtifactFiles, quality_checks


class _PredictorForExport(torch.nn.Module):
    def __init__(self, model: VLJepa) -> None:
        super().__init__()
        self.predictor = model.predictor

    def forward(self, visual_tokens: torch.Tensor) -> torch.Tensor:
        return self.predictor(visual_tokens)


class _YEncoderForExport(torch.nn.Module):
    def __init__(self, model: VLJepa) -> None:
        super().__init__()
        self.y_encoder = model.y_encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.y_encoder(input_ids, attention_mask)


class _DecoderStepForExport(torch.nn.Module):
    """(embedding (B, D), token prefix (B, L)) -> next-token logits (B, V): one greedy step."""

    def __init__(self, model: VLJepa) -> None:
        super().__init__()
        self.y_decoder = model.y_decoder

    def forward(self, embedding: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
        return self.y_decoder(embedding, token_ids)


class VLJepaExport(BaseModel, arbitrary_types_allowed=True):
    """What `run_export` needs from a VL-JEPA checkpoint."""

    # The settings with `vjepa2` pointing at the X-encoder saved as a Hugging Face folder.
    settings: ExportSettings
    job_factories: list[tuple[str, JobFactory]]
    ensemble: EnsembleSettings
    # Artifact files by model -> the end-to-end checks of every lower precision (quality.py).
    quality_gate: Callable[[dict[str, ArtifactFiles]], list[QualityCheck]]


def prepare_vljepa_export(settings: ExportSettings) -> VLJepaExport:
    if settings.vljepa is None:
        raise checkpoints.CheckpointError("vljepa: no checkpoint given; the VL-JEPA export needs one")
    try:
        model = load_vljepa(settings.vljepa)
    except VLJepaCheckpointError as error:
        raise checkpoints.CheckpointError(str(error)) from error
    preprocessing = model.config.preprocessing
    x_encoder_dir = settings.output_dir / "vljepa" / "x_encoder"
    model.x_encoder.vjepa2.save_pretrained(x_encoder_dir)
    vjepa2_config = model.x_encoder.vjepa2.config
    space = f"vljepa-{weights_fingerprint(model)}"
    tokens, visual_dim, dimension = num_visual_tokens(vjepa2_config), vjepa2_config.hidden_size, model.config.embedding_dim
    vocabulary_file = settings.output_dir / "vljepa" / "vocabulary.json"
    vocabulary_file.write_text(json.dumps(list(model.config.y_decoder.vocabulary)))
    batch = lambda: torch.export.Dim("batch", min=1, max=4096)  # noqa: E731 - a fresh Dim per job
    max_caption_tokens = model.config.y_decoder.max_tokens
    geometry = checkpoints.video_geometry(model.x_encoder.vjepa2).model_copy(update={"short_side_override": preprocessing.resize_short_side})
    with torch.no_grad():
        # The verification clip through the X-encoder and the predictor: what the later models really see.
        clip_tokens = model.x_encoder(torch.from_numpy(verification_clip(settings, geometry, preprocessing.frames_per_clip)))
        clip_embeddings = model.predictor(clip_tokens)

    def predictor_job(job_settings: ExportSettings) -> ExportJob:
        return ExportJob(
            settings=model_settings(
                job_settings,
                name="vljepa_predictor",
                inputs=[TensorSettings(name="visual_tokens", dims=[tokens, visual_dim])],
                outputs=[TensorSettings(name="video_embedding", dims=[dimension])],
                warmup=[WarmupSettings(name="zeros", inputs=[WarmupInput(name="visual_tokens", dims=[tokens, visual_dim])])],
                parameters={"jepa.role": "video_predictor", "jepa.embedding_space": space},
            ),
            module=_PredictorForExport(model),
            make_inputs=lambda size: (torch.randn(size, tokens, visual_dim),),
            real_inputs={"decoded clip tokens": (clip_tokens,)},
            dynamic_shapes={"visual_tokens": {0: batch()}},
            tensorrt_profile={"visual_tokens": tensorrt_plan.profile_shapes((size, tokens, visual_dim) for size in (1, job_settings.tensorrt_opt_batch_size, job_settings.max_batch_size))},
            source=f"{settings.vljepa} (predictor)",
        )

    def y_encoder_job(job_settings: ExportSettings) -> ExportJob:
        return text_encoder_job(
            job_settings,
            _YEncoderForExport(model),
            resolve_text_encoder_dir(model.config.y_encoder.source) / "tokenizer.json",
            model.config.y_encoder.max_tokens,
            model.tokenizer.vocab_size,
            space,
            f"{settings.vljepa} (y_encoder over {model.config.y_encoder.source})",
            sentences=("a red circle moving left", "a blue square moving up quickly", "a green triangle", *VERIFICATION_SENTENCES[:3]),
        )

    def text_decoder_job(job_settings: ExportSettings) -> ExportJob:
        vocabulary_size = len(model.config.y_decoder.vocabulary)
        prefix = torch.export.Dim("prefix", min=1, max=max_caption_tokens)
        rows = len(clip_embeddings)
        caption_prefix = torch.tensor([BOS_ID, *model.caption_token_ids("a red circle moving")[:-1]]).repeat(rows, 1)

        def make_inputs(size: int) -> tuple[torch.Tensor, torch.Tensor]:
            embedding = torch.nn.functional.normalize(torch.randn(size, dimension), dim=-1)
            return embedding, torch.cat([torch.full((size, 1), BOS_ID), torch.randint(3, vocabulary_size, (size, 4))], dim=1)

        profile_prefix = ((1, 1), (job_settings.tensorrt_opt_batch_size, 4), (job_settings.max_batch_size, max_caption_tokens))
        return ExportJob(
            settings=model_settings(
                job_settings,
                name="text_decoder",
                # Not ragged: right-padding a prefix would move its last position.
                inputs=[TensorSettings(name="embedding", dims=[dimension]), TensorSettings(name="token_ids", data_type="TYPE_INT64", dims=[-1])],
                outputs=[TensorSettings(name="next_token_logits", dims=[vocabulary_size])],
                warmup=[
                    WarmupSettings(
                        name="bos",
                        inputs=[WarmupInput(name="embedding", dims=[dimension]), WarmupInput(name="token_ids", data_type="TYPE_INT64", dims=[1], fill="ones")],
                    )
                ],
                parameters={
                    "jepa.role": "text_decoder", "jepa.embedding_space": space, "jepa.bos_id": str(BOS_ID),
                    "jepa.eos_id": str(EOS_ID), "jepa.max_caption_tokens": str(max_caption_tokens),
                },
            ),
            module=_DecoderStepForExport(model),
            make_inputs=make_inputs,
            real_inputs={
                "clip embeddings, bos": (clip_embeddings, torch.full((rows, 1), BOS_ID)),
                "clip embeddings, caption prefix": (clip_embeddings, caption_prefix),
            },
            dynamic_shapes={"embedding": {0: (shared := batch())}, "token_ids": {0: shared, 1: prefix}},
            tensorrt_profile={
                "embedding": tensorrt_plan.profile_shapes((size, dimension) for size, _ in profile_prefix),
                "token_ids": profile_prefix,
            },
            source=f"{settings.vljepa} (y_decoder)",
            extra_files=(vocabulary_file,),
        )

    frames, side = preprocessing.frames_per_clip, preprocessing.crop_size
    ensemble = EnsembleSettings(
        name="vljepa_video",
        inputs=[TensorSettings(name="pixel_values_videos", dims=[frames, 3, side, side])],
        outputs=[TensorSettings(name="video_embedding", dims=[dimension])],
        steps=[
            EnsembleStep(model_name="vjepa2_encoder", input_map={"pixel_values_videos": "pixel_values_videos"}, output_map={"visual_tokens": "visual_tokens"}),
            EnsembleStep(model_name="vljepa_predictor", input_map={"visual_tokens": "visual_tokens"}, output_map={"video_embedding": "video_embedding"}),
        ],
        max_batch_size=settings.max_batch_size,
        parameters={
            "jepa.role": "video_pipeline",
            "jepa.embedding_space": space,
            **video_parameters(frames, side, preprocessing.resize_short_side, vjepa2_config.tubelet_size, preprocessing.image_mean, preprocessing.image_std),
        },
    )
    return VLJepaExport(
        settings=settings.model_copy(update={"vjepa2": x_encoder_dir, "resize_short_side": preprocessing.resize_short_side, "export_text_encoder": False}),
        job_factories=[("vljepa_predictor", predictor_job), ("text_encoder", y_encoder_job), ("text_decoder", text_decoder_job)],
        ensemble=ensemble,
        quality_gate=lambda files: quality_checks(model, files, settings),
    )
