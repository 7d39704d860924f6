"""Reference solution of the c3w4-generate notebook exercise (Course 3, week 4).

`generate_text` is the course's greedy next-word loop, with
`np.argmax(model.predict(...), axis=-1)` in place of the removed
`predict_classes`. The checks run it against a small fixed model trained on
Shakespeare's Sonnet I (exercises/c3w4-generate/data: sonnet.txt, model.json,
model.npz), so the expected text is exact.

The model files are built once, deterministically (fixed seeds, deterministic
ops, CPU), by `build_fixed_model()`:

    .venv/bin/python -c "from reference.c3w4_generate import build_fixed_model; build_fixed_model()"

It also checks that every greedy step the checks take wins by a clear margin,
so a GPU's last-digit differences cannot change a word.
"""

import json
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.keras.preprocessing.sequence import pad_sequences
from tensorflow.keras.preprocessing.text import Tokenizer


# GRADED FUNCTION: generate_text
def generate_text(model, tokenizer, seed_text, next_words, max_sequence_len):
    """seed_text followed by next_words words, each the model's most likely next word."""
    for _ in range(next_words):
        token_list = tokenizer.texts_to_sequences([seed_text])[0]
        token_list = pad_sequences([token_list], maxlen=max_sequence_len - 1, padding="pre")
        predicted = int(np.argmax(model.predict(token_list, verbose=0), axis=-1)[0])
        output_word = tokenizer.index_word.get(predicted, "")
        seed_text += " " + output_word
    return seed_text


# --- the fixed model ------------------------------------------------------------------

SEEDS = (("from fairest", 6), ("thy self", 8), ("help me obi wan kenobi you're my only hope", 5))
"""(seed text, next words) pairs whose greedy steps build_fixed_model checks for margin."""
MIN_MARGIN = 0.02


def data_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "exercises" / "c3w4-generate" / "data"


def read_corpus(folder: Path) -> list[str]:
    return (folder / "sonnet.txt").read_text(encoding="utf-8").lower().strip().split("\n")


def make_model(config: dict) -> tf.keras.Model:
    """The architecture; weights come from model.npz (or training)."""
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=(config["max_sequence_len"] - 1,)),
            tf.keras.layers.Embedding(config["total_words"], config["embedding_dim"]),
            tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(config["lstm_units"])),
            tf.keras.layers.Dense(config["total_words"], activation="softmax"),
        ]
    )


def load_fixed_model(folder: Path | None = None):
    """(model, tokenizer, max_sequence_len) as the checks' setup builds them."""
    folder = Path(folder or data_dir())
    corpus = read_corpus(folder)
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(corpus)
    config = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    model = make_model(config)
    weights = np.load(folder / "model.npz")
    model.set_weights([weights[f"w{i}"] for i in range(len(weights.files))])
    return model, tokenizer, config["max_sequence_len"]


def margins(model, tokenizer, seed_text, next_words, max_sequence_len) -> list[float]:
    """Top-1 minus top-2 probability at each greedy step."""
    found = []
    for _ in range(next_words):
        token_list = tokenizer.texts_to_sequences([seed_text])[0]
        token_list = pad_sequences([token_list], maxlen=max_sequence_len - 1, padding="pre")
        probs = model.predict(token_list, verbose=0)[0]
        top = np.sort(probs)[-2:]
        found.append(float(top[1] - top[0]))
        seed_text += " " + tokenizer.index_word.get(int(np.argmax(probs)), "")
    return found


def build_fixed_model(folder: Path | None = None, *, epochs: int = 400, seed: int = 3) -> dict:
    """Train the small sonnet model deterministically and write model.json and model.npz."""
    import keras

    folder = Path(folder or data_dir())
    corpus = read_corpus(folder)
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(corpus)
    total_words = len(tokenizer.word_index) + 1
    sequences = []
    for line in corpus:
        tokens = tokenizer.texts_to_sequences([line])[0]
        sequences += [tokens[: i + 1] for i in range(1, len(tokens))]
    max_sequence_len = max(len(s) for s in sequences)
    padded = np.array(pad_sequences(sequences, maxlen=max_sequence_len, padding="pre"))
    xs, labels = padded[:, :-1], padded[:, -1]
    ys = tf.keras.utils.to_categorical(labels, num_classes=total_words)
    config = {
        "total_words": total_words,
        "max_sequence_len": max_sequence_len,
        "embedding_dim": 16,
        "lstm_units": 32,
    }
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = make_model(config)
    model.compile(
        loss="categorical_crossentropy",
        optimizer=tf.keras.optimizers.Adam(learning_rate=0.01),
        metrics=["accuracy"],
    )
    model.fit(xs, ys, epochs=epochs, verbose=0, shuffle=False, batch_size=len(xs))
    for text, n in SEEDS:
        worst = min(margins(model, tokenizer, text, n, max_sequence_len))
        if worst < MIN_MARGIN:
            raise RuntimeError(f"greedy step for {text!r} wins by only {worst:.4f}; change seed")
    np.savez(
        folder / "model.npz",
        **{f"w{i}": w.astype(np.float32) for i, w in enumerate(model.get_weights())},
    )
    (folder / "model.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return config
