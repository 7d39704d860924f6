"""Probes: checks on the objects course functions return, read inside the sandbox.

Course functions return live objects (a Tokenizer, a TextVectorization, a
tf.data.Dataset, a model, a History) that cannot leave the member's kernel.
A check with ``compare: probe`` has them read *there*, by the probe code that
travels with graders/codec.py (the sandbox runs that file, not this one), and
only the plain data comes back, as a `Probe` (a dict). The reference side
(a reference module or a solution notebook) is probed the same way, and
graders.compare diffs the two key by key: "vocabulary_size: expected 1000,
got 998", "outputs[1][3]: expected 5, got 1".

Spec format (exercise.yaml, one check)::

    - name: vectorizer
      function: fit_vectorizer
      args: [{'$global': train_sentences}]   # a variable of the member's notebook
      globals: [train_sentences]
      compare: probe
      probe:
        texts: ["the cat sat", "an unseen word"]   # run through the object
        k: 20                                      # vocabulary entries shown

What each kind of object gives (a field that cannot be read is left out and
named in "errors"; a field cut to size is named in "truncated"):

* Tokenizer (tf.keras.preprocessing.text): vocabulary_size (len(word_index)),
  vocabulary_head (the first k words by index), num_words, oov_token, lower,
  char_level, document_count, outputs (texts_to_sequences(texts)).
* TextVectorization: vocabulary_size, vocabulary_head (get_vocabulary()[:k]),
  max_tokens, output_mode, output_sequence_length, standardize, split, ngrams,
  outputs (the layer applied to texts, as lists).
* StringLookup / IntegerLookup: vocabulary_size, vocabulary_head, max_tokens,
  num_oov_indices, mask_token, oov_token, output_mode, invert, outputs
  (the layer applied to texts or inputs).
* tf.data.Dataset: element_spec (its structure, each leaf a string such as
  "int32 (None, 120)"), cardinality (a number, "infinite" or "unknown"),
  shapes and elements of the first k elements (batches, once batched).
* Keras model: class, layers (kinds, InputLayer left out), built,
  output_shape, params, trainable_params, non_trainable_params, loss and
  optimizer (None when not compiled). An unbuilt model is built first with
  input_shape; an unbuilt Sequential whose first layer was given the
  deprecated input_length is built with (None, input_length).
* History: keys, epochs, last (each metric's last value).
* A tuple, list or dict holding any of these: the same container, each item
  probed (so ``(train_ds, val_ds)`` gives two Dataset probes).
* Other lists, dicts and arrays: length (or dtype and shape), the first
  ``head`` items, and a digest of the whole (for arrays of floats: mean and
  abs_mean instead), so a difference past the head is still caught.

Options (all optional):

* texts / inputs: up to 100 strings (or integers, for IntegerLookup or an
  inverted lookup) the object is applied to.
* k: vocabulary entries (default 20) or dataset elements (default 2, at most 20).
* head: items of a plain list/array kept (default 10).
* input_shape: builds an unbuilt model; without the batch dimension
  ([120]), or with it when it starts with null ([null, 120]).
* fields: only these fields are read and compared (say, [params, layers]
  when any optimizer will do).
* seconds: the time the probe may take (default 30); fields left unread
  when it runs out say so.

Numbers compare with the check's rtol/atol (whole numbers exactly), lists at
their first differing index; hidden checks never show the expected values.
"""

from __future__ import annotations

from typing import Any

from graders.codec import Probe, probe, probe_options

__all__ = ["Probe", "probe", "probe_options", "probe_of"]


def probe_of(check: Any) -> dict[str, Any] | None:
    """The checked probe options a check's value is read with, or None when it is not probed.

    One rule for the harness (member side) and the reference runner, so both sides
    are read the same way: compare "probe", or any probe option given.
    """
    if check.compare == "probe" or check.probe:
        return probe_options(check.probe)
    return None
