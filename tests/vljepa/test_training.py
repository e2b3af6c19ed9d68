import torch

from jepa_export.vljepa.pretrain import EncoderPretraining, tube_masks
from jepa_export.vljepa.train import TrainSettings, train
from jepa_export.vljepa.model import VLJepa

TINY_RUN = dict(batch_size=8, pretrain_steps=2, align_steps=3, warmup_steps=1, decoder_clips=8, decoder_steps=2)


def test_tube_masks_split_every_clip_into_disjoint_context_and_target():
    context, target, spatial = tube_masks(5, frames=4, grid=4, mask_ratio=0.5, generator=torch.Generator().manual_seed(0))
    assert context.shape == (5, 4 * 7) and target.shape == (5, 4 * 9)
    for row in range(5):
        assert sorted(torch.cat([context[row], target[row]]).tolist()) == list(range(64))
        masked_positions = set(torch.nonzero(spatial[row].flatten()).flatten().tolist())
        assert {index % 16 for index in target[row].tolist()} == masked_positions


def test_pretraining_step_trains_the_online_encoder_and_moves_the_ema_target(tiny_config):
    torch.manual_seed(0)
    model = VLJepa(tiny_config)
    pretraining = EncoderPretraining(model.x_encoder, 0.5, (0.5, 1.0), total_steps=10)
    before = [parameter.clone() for parameter in pretraining.target_encoder.parameters()]
    loss = pretraining.loss(torch.randn(2, 4, 3, 32, 32), torch.Generator().manual_seed(0))
    loss.backward()
    assert model.x_encoder.vjepa2.encoder.embeddings.patch_embeddings.proj.weight.grad is not None
    with torch.no_grad():
        for parameter in model.x_encoder.parameters():
            parameter.add_(1.0)
    pretraining.update_target(step=0)
    assert all(not torch.equal(old, new) for old, new in zip(before, pretraining.target_encoder.parameters()))


def test_training_with_the_same_seed_gives_the_same_weights(tiny_config):
    runs = [train(tiny_config, TrainSettings(seed=3, recipe="pretrain_freeze_align", **TINY_RUN)) for _ in range(2)]
    (first, first_log), (second, second_log) = runs
    assert first_log["align_loss"] == second_log["align_loss"]
    for (name, tensor), other in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(tensor, other), name


def test_end_to_end_recipe_trains_the_x_encoder_and_leaves_everything_frozen_after(tiny_config):
    torch.manual_seed(3)
    untrained = VLJepa(tiny_config).x_encoder.state_dict()
    end_to_end, _ = train(tiny_config, TrainSettings(seed=3, recipe="end_to_end", pretrain_steps=0, **{k: v for k, v in TINY_RUN.items() if k != "pretrain_steps"}))
    changed = [name for name, tensor in end_to_end.x_encoder.state_dict().items() if not torch.equal(tensor, untrained[name])]
    assert any("encoder.layer" in name for name in changed)
    assert not any(parameter.requires_grad for parameter in end_to_end.parameters())
