"""Reference solution of the c3w2-embedding-model notebook exercise (Course 3, week 2).

The week-2 IMDB model: Embedding, Flatten, Dense(6, relu), Dense(1, sigmoid).
`Embedding(input_length=...)` is deprecated (ignored) in Keras 3, so the input length comes from a
`tf.keras.Input` layer; the parameter count is the course's (171,533 for
10,000 words, 16 dimensions, length 120).
"""

import tensorflow as tf


# GRADED FUNCTION: build_model
def build_model(vocab_size, embedding_dim, max_length):
    """The course's binary classifier over padded sequences of max_length word ids."""
    model = tf.keras.Sequential(
        [
            tf.keras.Input(shape=(max_length,)),
            tf.keras.layers.Embedding(vocab_size, embedding_dim),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(6, activation="relu"),
            tf.keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model
