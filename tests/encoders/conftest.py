"""Tiny random Hugging Face models built from config (no downloads), shared by the
encoder tests (test_hf, test_contract)."""

from __future__ import annotations

import json

import pytest

from tests.fixtures import write_word_bert

try:
    import torch
    import transformers
except ImportError:  # the hf extra is missing: the fixtures skip
    torch = transformers = None


def require_hf() -> None:
    if transformers is None:
        pytest.skip("extra 'hf' not installed")


WORDS = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "i",
    "am",
    "so",
    "happy",
    "sad",
    "angry",
    "today",
    "the",
    "a",
    "day",
    "what",
]


def _bert_tokenizer(folder):
    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    return transformers.BertTokenizerFast(vocab_file=str(vocab))


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory):
    require_hf()
    return write_word_bert(tmp_path_factory.mktemp("bert"), WORDS, layers=2, positions=64)


@pytest.fixture(scope="session")
def t5_dir(tmp_path_factory):
    require_hf()
    folder = tmp_path_factory.mktemp("t5")
    tok = _bert_tokenizer(folder / "vocab")
    torch.manual_seed(0)
    cfg = transformers.T5Config(
        vocab_size=len(WORDS),
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=2,
        num_heads=2,
        is_encoder_decoder=True,
    )
    transformers.T5EncoderModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def speech_dir(root, kind):
    common = dict(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8),
        conv_stride=(5, 4),
        conv_kernel=(10, 8),
        num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2,
        do_stable_layer_norm=False,
    )
    torch.manual_seed(0)
    if kind == "wav2vec2":
        model = transformers.Wav2Vec2Model(transformers.Wav2Vec2Config(**common))
    else:
        model = transformers.HubertModel(transformers.HubertConfig(**common))
    model.save_pretrained(root)
    transformers.Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(root)
    return root


@pytest.fixture(scope="session")
def wav2vec2_dir(tmp_path_factory):
    require_hf()
    return speech_dir(tmp_path_factory.mktemp("w2v"), "wav2vec2")


@pytest.fixture(scope="session")
def vit_dir(tmp_path_factory):
    require_hf()
    folder = tmp_path_factory.mktemp("vit")
    torch.manual_seed(0)
    cfg = transformers.ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
    )
    transformers.ViTModel(cfg).save_pretrained(folder)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def _byte_chars() -> list[str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    bs += range(ord("®"), ord("ÿ") + 1)
    cs, n = list(bs), 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def _clip_tokenizer(folder):
    """A byte-level CLIP tokenizer with no merges: every byte is a token."""
    folder.mkdir(parents=True, exist_ok=True)
    chars = _byte_chars()
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    try:  # transformers 5 takes the files (or dicts) as vocab/merges
        tok = transformers.CLIPTokenizerFast(
            vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt")
        )
    except TypeError:  # transformers 4
        tok = transformers.CLIPTokenizerFast(
            vocab_file=str(folder / "vocab.json"), merges_file=str(folder / "merges.txt")
        )
    if len(tok) < len(vocab):
        pytest.skip("could not build an offline CLIP tokenizer with this transformers")
    return tok


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory):
    require_hf()
    folder = tmp_path_factory.mktemp("clip")
    tok = _clip_tokenizer(folder / "tok")
    torch.manual_seed(0)
    cfg = transformers.CLIPConfig(
        text_config=dict(
            vocab_size=len(tok),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            eos_token_id=tok.eos_token_id,
            bos_token_id=tok.bos_token_id,
            pad_token_id=tok.pad_token_id,
        ),
        vision_config=dict(
            image_size=32,
            patch_size=8,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
        ),
        projection_dim=8,
    )
    transformers.CLIPModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    transformers.CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def videomae_dir(tmp_path_factory):
    require_hf()
    folder = tmp_path_factory.mktemp("videomae")
    torch.manual_seed(0)
    cfg = transformers.VideoMAEConfig(
        image_size=32,
        patch_size=8,
        num_frames=4,
        tubelet_size=2,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
    )
    transformers.VideoMAEModel(cfg).save_pretrained(folder)
    transformers.VideoMAEImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    return folder
