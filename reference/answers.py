"""Reference values for the short-answer exercises and computed trivia keys.

Every value is produced by TensorFlow/Keras itself (the course's Tokenizer and
pad_sequences, real Keras 3 models and layers), never typed by hand, so an
exercise's expected answer is what the library says. Models are built the
course's way with one Keras 3 change: `keras.Input(shape=...)` replaces the
deprecated (accepted but ignored) `input_length=` argument. Sizes are keyword arguments so that
per-member variants can ask for other vocabularies and widths.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from tensorflow.keras.preprocessing.sequence import pad_sequences
from tensorflow.keras.preprocessing.text import Tokenizer

# --- the course's data -------------------------------------------------------------

TWO_SENTENCES = ["I love my dog", "I love my cat"]
THREE_SENTENCES = [*TWO_SENTENCES, "You love my dog!"]
COURSE_SENTENCES = [*THREE_SENTENCES, "Do you think my dog is amazing?"]
TEST_SENTENCES = ["i really love my dog", "my dog loves my manatee"]

SONNET_1 = [
    "From fairest creatures we desire increase,",
    "That thereby beauty's rose might never die,",
    "But as the riper should by time decease,",
    "His tender heir might bear his memory:",
    "But thou contracted to thine own bright eyes,",
    "Feed'st thy light's flame with self-substantial fuel,",
    "Making a famine where abundance lies,",
    "Thy self thy foe, to thy sweet self too cruel:",
    "Thou that art now the world's fresh ornament,",
    "And only herald to the gaudy spring,",
    "Within thine own bud buriest thy content,",
    "And, tender churl, mak'st waste in niggarding:",
    "Pity the world, or else this glutton be,",
    "To eat the world's due, by the grave and thee.",
]


Shape = tuple[int | None, ...]


def _shape(shape: Sequence[int | None]) -> Shape:
    return tuple(None if d is None else int(d) for d in shape)


# --- week 1: tokenizer outputs -----------------------------------------------------


def _tokenizer(sentences: Sequence[str], num_words: int | None, oov_token: str | None) -> Tokenizer:
    tokenizer = Tokenizer(num_words=num_words, oov_token=oov_token)
    tokenizer.fit_on_texts(list(sentences))
    return tokenizer


def word_index(
    sentences: Sequence[str] = tuple(COURSE_SENTENCES),
    num_words: int | None = 100,
    oov_token: str | None = None,
) -> dict[str, int]:
    """tokenizer.word_index after fit_on_texts(sentences)."""
    return dict(_tokenizer(sentences, num_words, oov_token).word_index)


def vocabulary_size(
    sentences: Sequence[str] = tuple(COURSE_SENTENCES),
    num_words: int | None = 100,
    oov_token: str | None = None,
) -> int:
    """len(tokenizer.word_index): every word seen, whatever num_words says."""
    return len(_tokenizer(sentences, num_words, oov_token).word_index)


def texts_to_sequences(
    sentences: Sequence[str] = tuple(COURSE_SENTENCES),
    test_sentences: Sequence[str] | None = None,
    num_words: int | None = 100,
    oov_token: str | None = None,
) -> list[list[int]]:
    """Fit on sentences, then texts_to_sequences(test_sentences) (or of sentences themselves)."""
    tokenizer = _tokenizer(sentences, num_words, oov_token)
    texts = list(sentences if test_sentences is None else test_sentences)
    return [list(map(int, seq)) for seq in tokenizer.texts_to_sequences(texts)]


def padded(
    sentences: Sequence[str] = tuple(COURSE_SENTENCES),
    num_words: int | None = 100,
    oov_token: str | None = "<OOV>",
    maxlen: int | None = None,
    padding: str = "pre",
    truncating: str = "pre",
) -> np.ndarray:
    """pad_sequences(texts_to_sequences(sentences), ...) as the course's week 1 notebook does."""
    tokenizer = _tokenizer(sentences, num_words, oov_token)
    sequences = tokenizer.texts_to_sequences(list(sentences))
    return pad_sequences(sequences, maxlen=maxlen, padding=padding, truncating=truncating)


# --- week 4: n-grams and language-model quantities -------------------------------------


def _ngram_sequences(corpus_lines: Sequence[str]) -> tuple[Tokenizer, list[list[int]]]:
    corpus = [line.lower() for line in corpus_lines]
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(corpus)
    sequences = []
    for line in corpus:
        token_list = tokenizer.texts_to_sequences([line])[0]
        for i in range(1, len(token_list)):
            sequences.append(token_list[: i + 1])
    return tokenizer, sequences


def ngram_count(corpus_lines: Sequence[str] = tuple(SONNET_1)) -> int:
    """How many n-gram prefixes (input_sequences) the course's loop makes from corpus_lines."""
    return len(_ngram_sequences(corpus_lines)[1])


def total_words(corpus_lines: Sequence[str] = tuple(SONNET_1)) -> int:
    """len(tokenizer.word_index) + 1, the course's `total_words` (index 0 is padding)."""
    return len(_ngram_sequences(corpus_lines)[0].word_index) + 1


def max_sequence_len(corpus_lines: Sequence[str] = tuple(SONNET_1)) -> int:
    """The longest n-gram sequence, which is the longest line's token count."""
    return max(len(seq) for seq in _ngram_sequences(corpus_lines)[1])


def predictors_shape(corpus_lines: Sequence[str] = tuple(SONNET_1)) -> Shape:
    """Shape of `predictors` after pre-padding and splitting off the label column."""
    _, sequences = _ngram_sequences(corpus_lines)
    longest = max(len(seq) for seq in sequences)
    input_sequences = np.array(pad_sequences(sequences, maxlen=longest, padding="pre"))
    return _shape(input_sequences[:, :-1].shape)


def perplexity(probabilities: Sequence[float] = (0.25, 0.5, 0.125, 0.25)) -> float:
    """exp of the mean negative log probability of the actual next words (= 2 ** J in bits)."""
    p = tf.constant(list(probabilities), dtype=tf.float64)
    return _round(float(tf.exp(tf.reduce_mean(-tf.math.log(p))).numpy()))


def perplexity_from_predictions(
    predictions: Sequence[Sequence[float]] = ((0.1, 0.6, 0.2, 0.1), (0.25, 0.25, 0.25, 0.25)),
    targets: Sequence[int] = (1, 3),
) -> float:
    """exp(mean sparse categorical cross-entropy): the perplexity of a softmax model's predictions."""
    y_pred = tf.constant([list(row) for row in predictions], dtype=tf.float64)
    y_true = tf.constant(list(targets), dtype=tf.int64)
    losses = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
    return _round(float(np.exp(np.mean(np.asarray(losses, dtype=np.float64)))))


def _round(x: float) -> float:
    """12 significant digits: 4.0, not 3.999999999999999 from float rounding."""
    return float(f"{x:.12g}")


# --- weeks 2-4: models and their parameter counts ----------------------------------


def _sequential(input_shape: Sequence[int | None], *stack: keras.layers.Layer) -> keras.Model:
    return keras.Sequential([keras.Input(shape=tuple(input_shape)), *stack])


def imdb_flatten_model(
    vocab_size: int = 10000, embedding_dim: int = 16, max_length: int = 120, dense_units: int = 6
) -> keras.Model:
    """Week 2 IMDB classifier: Embedding, Flatten, Dense(6, relu), Dense(1, sigmoid)."""
    return _sequential(
        (max_length,),
        layers.Embedding(vocab_size, embedding_dim),
        layers.Flatten(),
        layers.Dense(dense_units, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    )


def imdb_flatten_params(
    vocab_size: int = 10000, embedding_dim: int = 16, max_length: int = 120, dense_units: int = 6
) -> int:
    return int(
        imdb_flatten_model(vocab_size, embedding_dim, max_length, dense_units).count_params()
    )


def imdb_flatten_output_shape(
    vocab_size: int = 10000, embedding_dim: int = 16, max_length: int = 120
) -> Shape:
    """Output shape of the Flatten layer in the week 2 model."""
    model = imdb_flatten_model(vocab_size, embedding_dim, max_length)
    return _shape(model.layers[1].output.shape)


def embedding_params(input_dim: int = 10000, output_dim: int = 16) -> int:
    layer = layers.Embedding(input_dim, output_dim)
    layer.build((None, None))
    return int(layer.count_params())


def embedding_weights_shape(
    vocab_size: int = 10000, embedding_dim: int = 16, max_length: int = 120
) -> Shape:
    """`model.layers[0].get_weights()[0].shape` for the week 2 model."""
    model = imdb_flatten_model(vocab_size, embedding_dim, max_length)
    return _shape(model.layers[0].get_weights()[0].shape)


def embedding_output_shape(
    input_dim: int = 1000, output_dim: int = 64, input_shape: Sequence[int] = (32, 10)
) -> Shape:
    """The layer docs' example: an integer batch of shape input_shape through Embedding."""
    x = np.zeros(tuple(input_shape), dtype="int32")
    return _shape(layers.Embedding(input_dim, output_dim)(x).shape)


def conv1d_output_shape(
    filters: int = 32,
    kernel_size: int = 3,
    input_shape: Sequence[int] = (4, 10, 128),
    strides: int = 1,
    padding: str = "valid",
) -> Shape:
    x = tf.zeros(tuple(input_shape))
    y = layers.Conv1D(filters, kernel_size, strides=strides, padding=padding, activation="relu")(x)
    return _shape(y.shape)


def global_average_pooling1d_output_shape(input_shape: Sequence[int] = (2, 3, 4)) -> Shape:
    return _shape(layers.GlobalAveragePooling1D()(tf.zeros(tuple(input_shape))).shape)


def _subwords_classifier(
    vocab_size: int, embedding_dim: int, *middle: keras.layers.Layer, dense_units: int = 64
):
    """Week 3's IMDB subwords8k classifiers: Embedding, <middle>, Dense(64, relu), Dense(1, sigmoid)."""
    return _sequential(
        (None,),
        layers.Embedding(vocab_size, embedding_dim),
        *middle,
        layers.Dense(dense_units, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    )


def bilstm_params(
    vocab_size: int = 8185, embedding_dim: int = 64, lstm_units: int = 64, dense_units: int = 64
) -> int:
    model = _subwords_classifier(
        vocab_size,
        embedding_dim,
        layers.Bidirectional(layers.LSTM(lstm_units)),
        dense_units=dense_units,
    )
    return int(model.count_params())


def stacked_bilstm_params(
    vocab_size: int = 8185,
    embedding_dim: int = 64,
    lstm_units: int = 64,
    lstm2_units: int = 32,
    dense_units: int = 64,
) -> int:
    model = _subwords_classifier(
        vocab_size,
        embedding_dim,
        layers.Bidirectional(layers.LSTM(lstm_units, return_sequences=True)),
        layers.Bidirectional(layers.LSTM(lstm2_units)),
        dense_units=dense_units,
    )
    return int(model.count_params())


def bigru_params(
    vocab_size: int = 8185, embedding_dim: int = 64, gru_units: int = 32, dense_units: int = 64
) -> int:
    """The week 3 classifier with Bidirectional(GRU(32)) in place of the LSTM."""
    model = _subwords_classifier(
        vocab_size,
        embedding_dim,
        layers.Bidirectional(layers.GRU(gru_units)),
        dense_units=dense_units,
    )
    return int(model.count_params())


def conv1d_params(
    vocab_size: int = 8185,
    embedding_dim: int = 64,
    filters: int = 128,
    kernel_size: int = 5,
    dense_units: int = 64,
    dropout: float | None = None,
) -> int:
    """Embedding, Conv1D, GlobalAveragePooling1D (, Dropout), Dense, Dense."""
    middle: list[keras.layers.Layer] = [
        layers.Conv1D(filters, kernel_size, activation="relu"),
        layers.GlobalAveragePooling1D(),
    ]
    if dropout is not None:
        middle.append(layers.Dropout(dropout))
    return int(
        _subwords_classifier(
            vocab_size, embedding_dim, *middle, dense_units=dense_units
        ).count_params()
    )


def two_conv1d_params(
    vocab_size: int = 8185,
    embedding_dim: int = 64,
    filters: int = 128,
    kernel_size: int = 5,
    filters2: int = 128,
    kernel_size2: int = 3,
    dense_units: int = 64,
) -> int:
    model = _subwords_classifier(
        vocab_size,
        embedding_dim,
        layers.Conv1D(filters, kernel_size, activation="relu"),
        layers.Conv1D(filters2, kernel_size2, activation="relu"),
        layers.GlobalAveragePooling1D(),
        dense_units=dense_units,
    )
    return int(model.count_params())


def embedding_gap_counts(
    input_dim: int = 138705,
    embedding_dim: int = 100,
    max_length: int = 16,
    dense_units: int = 24,
    frozen: bool = True,
) -> dict[str, int]:
    """Week 3 Sentiment140 model: Embedding (frozen GloVe or trainable), GAP1D, Dense(24), Dense(1).

    The GloVe matrix is all zeros here (its values do not change any count), given through
    `weights=[...]` with trainable=False exactly as the course does, so nothing is downloaded.
    """
    if frozen:
        matrix = np.zeros((input_dim, embedding_dim), dtype="float32")
        embedding = layers.Embedding(input_dim, embedding_dim, weights=[matrix], trainable=False)
    else:
        embedding = layers.Embedding(input_dim, embedding_dim)
    model = _sequential(
        (max_length,),
        embedding,
        layers.GlobalAveragePooling1D(),
        layers.Dense(dense_units, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    )
    total = int(model.count_params())
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    return {"total": total, "trainable": int(trainable), "non_trainable": total - int(trainable)}


def glove_total_params(
    input_dim: int = 138705, embedding_dim: int = 100, max_length: int = 16, dense_units: int = 24
) -> int:
    return embedding_gap_counts(input_dim, embedding_dim, max_length, dense_units, frozen=True)[
        "total"
    ]


def glove_trainable_params(
    input_dim: int = 138705, embedding_dim: int = 100, max_length: int = 16, dense_units: int = 24
) -> int:
    return embedding_gap_counts(input_dim, embedding_dim, max_length, dense_units, frozen=True)[
        "trainable"
    ]


def embedding_gap_params(
    input_dim: int = 139106, embedding_dim: int = 100, max_length: int = 16, dense_units: int = 24
) -> int:
    """The same model with a trainable embedding (the course's first Sentiment140 summary)."""
    return embedding_gap_counts(input_dim, embedding_dim, max_length, dense_units, frozen=False)[
        "total"
    ]


def sonnets_model(
    total_words: int = 3211,
    embedding_dim: int = 100,
    max_sequence_len: int = 11,
    lstm_units: int = 150,
    lstm2_units: int = 100,
) -> keras.Model:
    """Week 4 Shakespeare model; Dense(total_words/2) is int(total_words / 2) units, as Keras 2 rounded it."""
    return _sequential(
        (max_sequence_len - 1,),
        layers.Embedding(total_words, embedding_dim),
        layers.Bidirectional(layers.LSTM(lstm_units, return_sequences=True)),
        layers.Dropout(0.2),
        layers.LSTM(lstm2_units),
        layers.Dense(
            total_words // 2, activation="relu", kernel_regularizer=keras.regularizers.l2(0.01)
        ),
        layers.Dense(total_words, activation="softmax"),
    )


def sonnets_params(
    total_words: int = 3211,
    embedding_dim: int = 100,
    max_sequence_len: int = 11,
    lstm_units: int = 150,
    lstm2_units: int = 100,
) -> int:
    return int(
        sonnets_model(
            total_words, embedding_dim, max_sequence_len, lstm_units, lstm2_units
        ).count_params()
    )


def char_gru_params(vocab_size: int = 65, embedding_dim: int = 256, rnn_units: int = 1024) -> int:
    """The TensorFlow text-generation tutorial's build_model: Embedding, GRU, Dense(vocab_size)."""
    model = _sequential(
        (None,),
        layers.Embedding(vocab_size, embedding_dim),
        layers.GRU(rnn_units, return_sequences=True, recurrent_initializer="glorot_uniform"),
        layers.Dense(vocab_size),
    )
    return int(model.count_params())


# --- single layers ---------------------------------------------------------------------

_RECURRENT = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}


def recurrent_layer_params(
    cell: str = "lstm", input_dim: int = 64, units: int = 64, bidirectional: bool = False
) -> int:
    """Weights of one SimpleRNN / LSTM / GRU layer (optionally Bidirectional) on input_dim features."""
    layer = _RECURRENT[cell](units)
    if bidirectional:
        layer = layers.Bidirectional(layer)
    return int(_sequential((None, input_dim), layer).count_params())


def conv1d_layer_params(in_channels: int = 64, filters: int = 128, kernel_size: int = 5) -> int:
    return int(_sequential((None, in_channels), layers.Conv1D(filters, kernel_size)).count_params())


def dense_params(inputs: int = 1920, units: int = 6) -> int:
    return int(_sequential((inputs,), layers.Dense(units)).count_params())
