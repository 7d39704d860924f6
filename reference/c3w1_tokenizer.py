"""Reference solution of the c3w1-tokenizer notebook exercise (Course 3, week 1).

The same three functions a member writes in exercises/c3w1-tokenizer/starter.ipynb,
done the course's way with the Keras Tokenizer and pad_sequences. The grader
wraps this file in a notebook to prove the checks can be passed.
"""

from tensorflow.keras.preprocessing.sequence import pad_sequences
from tensorflow.keras.preprocessing.text import Tokenizer


# GRADED FUNCTION: build_word_index
def build_word_index(sentences, num_words=100, oov_token="<OOV>"):
    """Fit a Tokenizer on sentences and return its word_index."""
    tokenizer = Tokenizer(num_words=num_words, oov_token=oov_token)
    tokenizer.fit_on_texts(sentences)
    return tokenizer.word_index


# GRADED FUNCTION: encode
def encode(train_sentences, test_sentences, oov_token="<OOV>"):
    """Fit on train_sentences, then turn test_sentences into lists of word ids."""
    tokenizer = Tokenizer(oov_token=oov_token)
    tokenizer.fit_on_texts(train_sentences)
    return tokenizer.texts_to_sequences(test_sentences)


# GRADED FUNCTION: pad
def pad(sentences, maxlen=None, padding="pre", truncating="pre"):
    """Fit on sentences (no OOV token), sequence them and pad them to one length."""
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(sentences)
    sequences = tokenizer.texts_to_sequences(sentences)
    return pad_sequences(sequences, maxlen=maxlen, padding=padding, truncating=truncating)
