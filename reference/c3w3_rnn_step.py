"""Reference solution of the c3w3-rnn-step notebook exercise (Course 3, week 3).

One step of a SimpleRNN and of an LSTM, computed by Keras' own cells with the
given weights, so the expected numbers are Keras' layout by construction:
SimpleRNNCell weights [kernel (in, units), recurrent_kernel (units, units),
bias (units,)], output tanh(x W_xh + h W_hh + b); LSTMCell weights with the
four gates side by side in the order i, f, c, o, recurrent activation sigmoid.
"""

import keras
import numpy as np


# GRADED FUNCTION: rnn_step
def rnn_step(x, h_prev, W_xh, W_hh, b):
    """New hidden state of a SimpleRNN (tanh) for inputs x (batch, in), h_prev (batch, units)."""
    units = W_hh.shape[0]
    cell = keras.layers.SimpleRNNCell(units)
    cell.build((None, x.shape[-1]))
    cell.set_weights([W_xh, W_hh, b])
    output, _ = cell(x, [h_prev])
    return np.asarray(output)


# GRADED FUNCTION: lstm_step
def lstm_step(x, h_prev, c_prev, kernel, recurrent_kernel, bias):
    """(h, c) after one LSTM step; gates i, f, c, o side by side in kernel's columns."""
    units = recurrent_kernel.shape[0]
    cell = keras.layers.LSTMCell(units)
    cell.build((None, x.shape[-1]))
    cell.set_weights([kernel, recurrent_kernel, bias])
    h, (_, c) = cell(x, [h_prev, c_prev])
    return np.asarray(h), np.asarray(c)
