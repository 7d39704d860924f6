"""Reference solution of the c3w4-ngrams notebook exercise (Course 3, week 4).

The course's text-generation data preparation: every line becomes its n-gram
prefixes, pre-padded to the longest; the last word of each is the label.
Labels stay word ids here (the course one-hot encodes them afterwards).
"""

import numpy as np
from tensorflow.keras.preprocessing.sequence import pad_sequences
from tensorflow.keras.preprocessing.text import Tokenizer


# GRADED FUNCTION: ngram_sequences
def ngram_sequences(corpus_lines):
    """(predictors, labels, max_sequence_len) for a list of text lines."""
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(corpus_lines)
    input_sequences = []
    for line in corpus_lines:
        token_list = tokenizer.texts_to_sequences([line])[0]
        for i in range(1, len(token_list)):
            input_sequences.append(token_list[: i + 1])
    max_sequence_len = max(len(x) for x in input_sequences)
    input_sequences = np.array(
        pad_sequences(input_sequences, maxlen=max_sequence_len, padding="pre")
    )
    predictors, labels = input_sequences[:, :-1], input_sequences[:, -1]
    return predictors, labels, max_sequence_len
