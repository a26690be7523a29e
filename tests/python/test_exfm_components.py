"""ExFM components: DAS schedule and join, auxiliary-head gradient routing, adapter stop-gradient, model shapes."""
import pytest
import torch

from pipelines.exfm.config import ModelConfig
from pipelines.exfm.das import adapter_context, adapter_context_width, join_fm_logits, join_unseen_ids, snapshot_for_window
from pipelines.exfm.data import DataConfig, generate_stream
from pipelines.exfm.layers import dot_interaction
from pipelines.exfm.losses import exfm_loss, multi_term_bce
from pipelines.exfm.model import StudentAdapter
from pipelines.exfm.vertical import build_vertical

SMALL = ModelConfig(embedding_dim=4, bottom_mlp=[8], top_mlp=[8], cross_layers=1)


@pytest.fixture(scope="module")
def stream():
    return generate_stream(DataConfig(seed=0, domains=2, windows=2, examples_per_window=64, users=50, ads_per_domain=20))


def test_snapshot_schedule_refreshes_every_k_windows():
    assert [snapshot_for_window(w, 2, 1) for w in range(2, 7)] == [1, 2, 3, 4, 5]
    assert [snapshot_for_window(w, 2, 2) for w in range(2, 7)] == [1, 1, 3, 3, 5]
    assert [snapshot_for_window(w, 2, 4) for w in range(2, 8)] == [1, 1, 1, 1, 5, 5]
    with pytest.raises(ValueError):
        snapshot_for_window(1, 2, 1)


def test_das_join_aligns_predictions_with_rows():
    windows = torch.tensor([0, 1, 1, 2, 2, 2])
    joined = join_fm_logits(6, windows, {1: (torch.tensor([2, 1]), torch.tensor([0.5, -0.5]), 0), 2: (torch.tensor([3, 4, 5]), torch.tensor([1.0, 2.0, 3.0]), 1)})
    assert torch.isnan(joined["fm_logit"][0])
    assert joined["fm_logit"][1:].tolist() == [-0.5, 0.5, 1.0, 2.0, 3.0]
    assert joined["fm_snapshot"].tolist() == [-1, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="another window"):
        join_fm_logits(6, windows, {1: (torch.tensor([3]), torch.tensor([0.0]), 0)})


def _grads(model, loss):
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {name: (p.grad.abs().sum().item() if p.grad is not None else 0.0) for name, p in model.named_parameters()}


def test_auxiliary_head_takes_all_fm_gradient(stream):
    batch, meta = stream
    torch.manual_seed(0)
    model = build_vertical(meta["vocabulary"], meta["dense_features"], SMALL, "auxiliary", 8)
    fm = torch.randn(batch.rows) * 3
    # Isolate the distillation term: the total minus the hard-label loss on the same outputs.
    outputs = model(batch)
    total, _ = exfm_loss(model, outputs, batch.label, fm, "auxiliary", 1.0, 0.0)
    hard = torch.nn.functional.binary_cross_entropy_with_logits(outputs["serve"], batch.label)
    grads = _grads(model, total - hard)
    assert grads["serving_head.weight"] == 0.0 and grads["serving_head.bias"] == 0.0
    assert grads["auxiliary_head.weight"] > 0 and grads["top.0.weight"] > 0  # the shared trunk still learns from the FM
    # The single-head variant, by contrast, pushes FM gradient into the serving head.
    single = build_vertical(meta["vocabulary"], meta["dense_features"], SMALL, "distilled", 8)
    outputs = single(batch)
    total, _ = exfm_loss(single, outputs, batch.label, fm, "distilled", 1.0, 0.0)
    hard = torch.nn.functional.binary_cross_entropy_with_logits(outputs["serve"], batch.label)
    assert _grads(single, total - hard)["serving_head.weight"] > 0


def test_adapter_learns_from_labels_only(stream):
    batch, meta = stream
    torch.manual_seed(0)
    model = build_vertical(meta["vocabulary"], meta["dense_features"], SMALL, "adapter", 8)
    with torch.no_grad():
        model.adapter.out.weight.normal_()  # leave the identity start so every path has a gradient
    fm = torch.randn(batch.rows) * 3
    outputs = model(batch)
    _, terms = exfm_loss(model, outputs, batch.label, fm, "adapter", 1.0, 1.0)
    adapted = model.adapter(fm)
    distill = torch.nn.functional.binary_cross_entropy_with_logits(outputs["aux"], torch.sigmoid(adapted.detach()))
    grads = _grads(model, distill)
    assert all(grads[name] == 0.0 for name in grads if name.startswith("adapter."))
    assert grads["auxiliary_head.weight"] > 0
    # With the loss the pipeline builds, the adapter does receive gradient (from the label term).
    outputs = model(batch)
    total, _ = exfm_loss(model, outputs, batch.label, fm, "adapter", 1.0, 1.0)
    grads = _grads(model, total)
    assert grads["adapter.hidden.0.weight"] > 0 and grads["adapter.out.weight"] > 0
    # and that gradient is exactly the label term's: the distillation weight does not change it.
    outputs = model(batch)
    heavy, _ = exfm_loss(model, outputs, batch.label, fm, "adapter", 50.0, 1.0)
    assert _grads(model, heavy)["adapter.out.weight"] == pytest.approx(grads["adapter.out.weight"], rel=1e-5)
    assert set(terms) == {"hard", "distill", "adapter"}


def test_variants_need_fm_logits_and_heads(stream):
    batch, meta = stream
    plain = build_vertical(meta["vocabulary"], meta["dense_features"], SMALL, "plain", 8)
    assert plain.auxiliary_head is None and plain.adapter is None
    with pytest.raises(ValueError, match="FM logits"):
        exfm_loss(plain, plain(batch), batch.label, None, "distilled", 1.0, 1.0)


def test_dot_interaction_and_fused_loss_match_definitions():
    features = torch.randn(2, 4, 3)
    pairs = dot_interaction(features)
    assert pairs.shape == (2, 6)
    assert pairs[1, 5].item() == pytest.approx(float(features[1, 3] @ features[1, 2]), rel=1e-5)
    serve, aux, adapter, teacher = torch.randn(5), torch.randn(5), torch.randn(5), torch.rand(5)
    label = torch.tensor([1.0, 0, 0, 1, 0])
    expected = sum(
        w * torch.mean(-(t * torch.log(torch.sigmoid(x)) + (1 - t) * torch.log(1 - torch.sigmoid(x))))
        for w, x, t in ((1.0, serve, label), (0.5, aux, teacher), (2.0, adapter, label))
    )
    assert multi_term_bce(serve, aux, adapter, label, teacher, 0.5, 2.0).item() == pytest.approx(expected.item(), rel=1e-5)


def test_adapter_context_columns_from_das():
    columns = {"fm_snapshot": torch.tensor([1, 1, 1, 3]), "fm_unseen_user": torch.tensor([False, True, False, False]), "fm_unseen_ad": torch.tensor([False, False, True, True])}
    window = torch.tensor([2, 3, 4, 4])
    dense = torch.arange(8.0).reshape(4, 2)
    context = adapter_context(columns, window, dense)
    assert context.shape == (4, adapter_context_width(2))
    assert context[:, 0].tolist() == [1.0, 2.0, 3.0, 1.0]  # staleness age: window minus the snapshot's window
    assert context[:, 1].tolist() == [0.0, 1.0, 0.0, 0.0] and context[:, 2].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert torch.equal(context[:, 3:], dense)
    # DAS files of the first design have no id flags: zeros, not an error.
    assert adapter_context({"fm_snapshot": columns["fm_snapshot"]}, window, dense)[:, 1:3].abs().sum() == 0
    joined = join_unseen_ids(5, {2: (torch.tensor([0, 3]), torch.zeros(2), 1)}, {2: (torch.tensor([True, False]), torch.tensor([False, True]))})
    assert joined["fm_unseen_user"].tolist() == [True, False, False, False, False]
    assert joined["fm_unseen_ad"].tolist() == [False, False, False, True, False]


def test_context_adapter_starts_as_identity_and_can_learn_an_age_dependent_temperature():
    torch.manual_seed(0)
    adapter = StudentAdapter(8, context_features=1)
    fm = torch.randn(4000) * 2
    age = torch.randint(1, 5, (4000,)).float()
    assert torch.equal(adapter(fm, age.unsqueeze(1)), fm)
    with pytest.raises(ValueError, match="context"):
        adapter(fm)
    # Labels whose true logit is the FM logit shrunk by its age (a stale FM over-confident by age):
    # the scalar adapter cannot fit this, the context adapter can.
    label = torch.bernoulli(torch.sigmoid(fm / age), generator=torch.Generator().manual_seed(1))
    scalar = StudentAdapter(8)

    def fit(module, context):
        optimizer = torch.optim.Adam(module.parameters(), lr=0.03)
        for _ in range(300):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(module(fm, context), label)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    assert fit(adapter, age.unsqueeze(1)) < fit(scalar, None) - 0.01


def test_adapter_context_gets_no_distillation_gradient(stream):
    batch, meta = stream
    torch.manual_seed(0)
    model = build_vertical(meta["vocabulary"], meta["dense_features"], SMALL, "adapter", 8, adapter_context=True)
    assert model.adapter.context_features == adapter_context_width(meta["dense_features"])
    with torch.no_grad():
        model.adapter.out.weight.normal_()
    fm = torch.randn(batch.rows) * 3
    context = torch.randn(batch.rows, model.adapter.context_features)
    outputs = model(batch)
    total, terms = exfm_loss(model, outputs, batch.label, fm, "adapter", 1.0, 1.0, context)
    grads = _grads(model, total)
    assert grads["adapter.hidden.0.weight"] > 0
    outputs = model(batch)
    heavy, _ = exfm_loss(model, outputs, batch.label, fm, "adapter", 50.0, 1.0, context)
    assert _grads(model, heavy)["adapter.hidden.0.weight"] == pytest.approx(grads["adapter.hidden.0.weight"], rel=1e-5)
