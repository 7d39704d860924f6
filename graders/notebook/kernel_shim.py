"""What runs inside each sandboxed kernel before member code: the course's world, offline.

The zygote (graders/notebook/zygote.py) executes a copy of this file in every
kernel it forks, after the rlimits are set and every capability is dropped, so
nothing here can do what member code could not do itself. It is stdlib-only at
import time and never imports the graders package (sandbox.py copies it into
the sandbox beside codec.py); install() then patches what the zygote already
imported (keras, matplotlib, tensorflow_datasets, gdown).

* **Downloads, answered offline.** The exercise's ./data may hold
  `.adventures-downloads.json` (written by graders.datasets): URLs and file
  names mapped to paths inside ./data, and where a prepared TFDS data_dir is.
  `!wget`/`!curl` (rewritten by shell_rewrite into `__adventures_fetch__` and
  `__adventures_unpack__`), `urllib.request.urlretrieve`, keras' `get_file`,
  `gdown.download` and `tfds.load`/`tfds.builder` are answered from it, by URL
  first and then by file name; the file is put where the notebook expects it
  as a symlink into the read-only ./data (files can be hundreds of MB). A
  download the data cannot answer raises DataNotAvailable naming the URL and
  what the instructor must add.
* **Stand-ins** for two modules the course imports that are not on PyPI:
  `unittests` (DLAI's local tests) and `google.colab`. They come last on
  sys.meta_path, so a member's own ./unittests.py still wins, and `google`
  stays protobuf's namespace package.
* **Course-era compatibility** (TF 2.0-2.4 code on today's Keras, where the
  meaning is unambiguous): `predict_classes`, `Embedding(input_length=n)` on an
  unbuilt Sequential, `Dense(units)` given a float (TF 2.x took int(units)), TF 1.x's
  `dataset.output_shapes`/`output_types`, tfds configs today's tfds retired
  (`imdb_reviews/subwords8k`, read from the prepared copy with its SubwordTextEncoder), and
  the exercise's training cap (`epochs_cap`).
* **Notes.** Each of the above that happens adds a short note; `notes()` is
  what the harness writes as its `__notes__` result line (at most 20 of 300
  characters; graders.notebook.harness.parse_kernel_notes reads it).
"""

import builtins
import email.message
import functools
import importlib.abc
import importlib.util
import inspect
import json
import numbers
import os
import posixpath
import shutil
import sys
import tarfile
import urllib.parse
import zipfile

DATA_DIR = "/home/student/work/data"
MANIFEST_NAME = ".adventures-downloads.json"
SETTINGS_PATH = "/run/kernel/settings.json"  # written by the zygote when the run is assigned
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
MAX_NOTES = 20
NOTE_CHARS = 300
NO_LOCAL_TEST = "Adventures checks this function when you submit; no local test here."
PREDICT_CLASSES_NOTE = (
    "model.predict_classes was removed in TF 2.6: use np.argmax(model.predict(x), axis=-1) "
    "(or (model.predict(x) > 0.5).astype('int32') for one sigmoid unit)"
)

_notes = []
_problems = []  # what install() could not set up (tests read it; members never see it)
_settings = {"epochs_cap": None}
_settings_read = [False]
_served = set()  # real paths of files this kernel served, so keras skips their (real) hash


def note(text):
    """Record one note for the member (deduplicated, at most MAX_NOTES)."""
    text = str(text)[:NOTE_CHARS]
    if text not in _notes and len(_notes) < MAX_NOTES:
        _notes.append(text)


def notes():
    """The notes so far: what the harness writes on its __notes__ line."""
    return [str(text)[:NOTE_CHARS] for text in _notes[:MAX_NOTES]]


class DataNotAvailable(FileNotFoundError):
    """A download the exercise's data cannot answer (the sandbox has no network)."""


class ColabOnlyError(RuntimeError):
    """A google.colab feature that needs Colab's browser."""


def _missing_url(url):
    return DataNotAvailable(
        f"{url} is not in this exercise's data and the grader has no network: "
        f"ask the instructor to add it: adventures data add FILE --url {url}"
    )


def _url_name(url):
    return posixpath.basename(urllib.parse.unquote(urllib.parse.urlsplit(str(url)).path))


def _drive_id(url):
    """The file id of a Google Drive link (uc?id=X, open?id=X, /file/d/X/...), or None."""
    parts = urllib.parse.urlsplit(str(url))
    if "drive.google" not in parts.netloc and "docs.google" not in parts.netloc:
        return None
    found = urllib.parse.parse_qs(parts.query).get("id")
    if found:
        return found[0]
    pieces = parts.path.split("/")
    if "d" in pieces and pieces.index("d") + 1 < len(pieces):
        return pieces[pieces.index("d") + 1] or None
    return None


def _loose(url):
    """A URL compared without its scheme, surrounding blanks or a trailing slash."""
    text = str(url).strip()
    for scheme in ("https://", "http://"):
        if text.lower().startswith(scheme):
            text = text[len(scheme) :]
    return text.rstrip("/")


class Downloads:
    """The exercise's download manifest, read once from its data folder."""

    def __init__(self, data_dir=DATA_DIR):
        self.data_dir = data_dir
        self._manifest = None

    def manifest(self):
        if self._manifest is None:
            doc = {}
            try:
                with open(os.path.join(self.data_dir, MANIFEST_NAME), encoding="utf-8") as handle:
                    doc = json.load(handle)
            except (OSError, ValueError):
                doc = {}
            if not isinstance(doc, dict):
                doc = {}
            self._manifest = {
                key: doc.get(key) if isinstance(doc.get(key), dict) else {}
                for key in ("urls", "names", "paths")
            }
            tfds_dir = doc.get("tfds_dir")
            self._manifest["tfds_dir"] = tfds_dir if isinstance(tfds_dir, str) else None
        return self._manifest

    def inside(self, rel):
        """The absolute path of rel inside the data folder, or None (missing or escaping)."""
        if not isinstance(rel, str) or not rel or rel.startswith("/"):
            return None
        clean = posixpath.normpath(rel)
        if clean == ".." or clean.startswith("../"):
            return None
        path = self.data_dir if clean == "." else os.path.join(self.data_dir, clean)
        return path if os.path.exists(path) else None

    def find(self, url, *names):
        """Where url is in the data: exact URL, the same URL loosely, the same Drive file,
        then a file name (the URL's, then each of names) from the manifest or at ./data's top."""
        manifest = self.manifest()
        urls = manifest["urls"]
        if isinstance(url, str) and url in urls:
            found = self.inside(urls[url])
            if found:
                return found
        if url:
            loose, drive = _loose(url), _drive_id(url)
            for known, rel in urls.items():
                same_drive = drive is not None and _drive_id(known) == drive
                if _loose(known) == loose or same_drive:
                    found = self.inside(rel)
                    if found:
                        return found
        candidates = [_url_name(url)] if url else []
        candidates += [n for n in names if n]
        for name in candidates:
            if not name or name in (".", "..", MANIFEST_NAME) or "/" in name:
                continue
            found = self.inside(manifest["names"].get(name))
            if found:
                return found
        for name in candidates:
            if not name or name in (".", "..", MANIFEST_NAME) or "/" in name:
                continue
            found = self.inside(name)
            if found:
                return found
        return None

    def tfds_dir(self):
        rel = self.manifest()["tfds_dir"]
        return self.inside(rel) if rel is not None else None


_downloads = Downloads()


def _place(source, dest):
    """Make dest show source: a symlink into ./data (no bytes copied), a copy only when a
    symlink cannot be made there. Returns dest as an absolute path."""
    dest = os.path.abspath(os.path.expanduser(os.fspath(dest)))
    if os.path.lexists(dest):
        if os.path.exists(dest) and os.path.samefile(dest, source):
            return dest
        if os.path.isdir(dest) and not os.path.islink(dest):
            raise IsADirectoryError(f"{dest} is a folder: cannot save a download there")
        os.unlink(dest)
    parent = os.path.dirname(dest)
    if parent:
        os.makedirs(parent, exist_ok=True)
    try:
        os.symlink(source, dest)
    except OSError:
        if os.path.isdir(source):
            shutil.copytree(source, dest, symlinks=True)
        else:
            shutil.copyfile(source, dest)
    return dest


def _served_note(url, dest):
    note(f"Download served from the exercise's data (no network here): {url} -> {dest}")


def _serve(url, dest, *names):
    source = _downloads.find(url, *names)
    if source is None:
        raise _missing_url(url)
    placed = _place(source, dest)
    _served.add(os.path.realpath(placed))
    _served_note(url, dest)
    return placed


def fetch(url, dest=None, **_options):
    """`!wget URL [-O dest]` / `!curl URL -o dest`: dest None is the URL's file name here."""
    url = str(url).strip()
    name = _url_name(url) or "index.html"
    if dest is None or dest == "":
        dest = name
    else:
        dest = os.fspath(dest)
        if dest.endswith("/") or os.path.isdir(dest):
            dest = os.path.join(dest, name)
    _serve(url, dest, os.path.basename(dest))


def unpack(archive, dest=None, **_options):
    """`!unzip archive [-d dest]` / `!tar xf archive [-C dest]`, without a shell."""
    archive = os.fspath(archive)
    dest = os.fspath(dest) if dest else "."
    if not os.path.exists(archive):
        raise FileNotFoundError(f"{archive}: no such file to unpack")
    real = os.path.realpath(archive)
    os.makedirs(dest, exist_ok=True)
    if os.path.isdir(real):  # the instructor added the archive already unpacked
        for child in sorted(os.listdir(real)):
            _place(os.path.join(real, child), os.path.join(dest, child))
    elif zipfile.is_zipfile(real):
        with zipfile.ZipFile(real) as handle:
            handle.extractall(dest)  # names with .. or / are made safe by zipfile
    elif tarfile.is_tarfile(real):
        with tarfile.open(real) as handle:
            handle.extractall(dest, filter="data")
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")
    note(f"Unpacked {archive} into {dest}.")


def urlretrieve(url, filename=None, reporthook=None, data=None):
    """urllib.request.urlretrieve, answered from the exercise's data."""
    url = str(url)
    if filename is None:
        source = _downloads.find(url)
        if source is None:
            raise _missing_url(url)
        _served.add(os.path.realpath(source))
        _served_note(url, source)
        return source, email.message.Message()
    filename = os.fspath(filename)
    _serve(url, filename, os.path.basename(filename))
    return filename, email.message.Message()


# --- keras: get_file, course-era compatibility, the training cap --------------------------


def _patch_keras_files():
    """keras.utils.get_file keeps its own path and extract logic; only the fetch is ours.

    Keras fixed its home when the zygote imported it, where HOME did not exist yet
    (so /tmp/.keras); the kernel's is ~/.keras ($KERAS_HOME), as a notebook expects.
    """
    from keras.src.backend import config
    from keras.src.utils import file_utils

    if os.environ.get("KERAS_HOME"):
        config._KERAS_DIR = os.environ["KERAS_HOME"]

    original_validate = file_utils.validate_file
    original_extract = file_utils.extract_archive

    def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
        if os.path.realpath(fpath) in _served:
            return True  # the instructor's copy: its bytes need not hash like the original
        return original_validate(fpath, file_hash, algorithm, chunk_size)

    def extract_archive(file_path, path=".", archive_format="auto"):
        if os.path.isdir(file_path):  # added already unpacked: show it where keras would
            _place(os.path.realpath(file_path), path)
            return True
        return original_extract(file_path, path, archive_format)

    file_utils.urlretrieve = urlretrieve
    file_utils.validate_file = validate_file
    file_utils.extract_archive = extract_archive


def _read_settings():
    if _settings_read[0]:
        return
    try:
        with open(SETTINGS_PATH, encoding="utf-8") as handle:
            doc = json.load(handle)
    except FileNotFoundError:
        return  # not assigned yet: read again next time
    except (OSError, ValueError):
        doc = {}
    _settings_read[0] = True
    if isinstance(doc, dict) and "epochs_cap" in doc:  # the run's own word wins over spawn's
        _settings["epochs_cap"] = doc["epochs_cap"]


def epochs_cap():
    """The exercise's training cap (spec `training: {cap: N}`), or None."""
    _read_settings()
    cap = _settings.get("epochs_cap")
    try:
        return int(cap) if cap is not None and int(cap) >= 1 else None
    except (TypeError, ValueError):
        return None


def _input_length_note(n):
    return (
        "input_length is deprecated (accepted but ignored by Keras 3); start the model with "
        f"tf.keras.Input(shape=({n},))"
    )


def _build_from_input_length(model):
    """An unbuilt Sequential whose first layer was given input_length: build it with it."""
    if getattr(model, "built", True):
        return
    layers = list(getattr(model, "layers", None) or [])
    n = getattr(layers[0], "_adventures_input_length", None) if layers else None
    if n is None:
        return
    model.build((None, n))
    note(_input_length_note(n))


LR_NOTE = (
    "Optimizers take `learning_rate=` since TF 2.x (Keras 3 refuses `lr=`); "
    "`lr=` was read as `learning_rate=` here."
)


def _patch_optimizer_lr():
    """TF 2.0-2.4 code passes `Adam(lr=0.01)`; Keras 3 refuses the alias it then accepted."""
    from keras.src.optimizers.base_optimizer import BaseOptimizer

    original = BaseOptimizer.__init__

    def init(self, *args, **kwargs):
        if "lr" in kwargs:
            lr = kwargs.pop("lr")
            if args:
                args = (lr, *args[1:])
            else:
                kwargs["learning_rate"] = lr
            note(LR_NOTE)
        original(self, *args, **kwargs)

    BaseOptimizer.__init__ = init


def _patch_keras(keras):
    model_class, sequential, embedding = keras.Model, keras.Sequential, keras.layers.Embedding
    if getattr(model_class, "_adventures_patched", False):
        return
    model_class._adventures_patched = True
    _patch_optimizer_lr()

    def predict_classes(self, x, batch_size=32, verbose=0, **kwargs):
        """Old Keras: argmax over the last axis; one sigmoid unit thresholds at 0.5, (n, 1)."""
        note(PREDICT_CLASSES_NOTE)
        proba = self.predict(x, batch_size=batch_size, verbose=verbose, **kwargs)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0, **kwargs):
        note("model.predict_proba was removed in TF 2.6: use model.predict(x)")
        return self.predict(x, batch_size=batch_size, verbose=verbose, **kwargs)

    if not hasattr(model_class, "predict_classes"):
        model_class.predict_classes = predict_classes
    if not hasattr(model_class, "predict_proba"):
        model_class.predict_proba = predict_proba

    original_init = embedding.__init__

    @functools.wraps(original_init)
    def embedding_init(self, *args, **kwargs):
        length = kwargs.get("input_length")
        original_init(self, *args, **kwargs)
        if length is not None:
            try:
                self._adventures_input_length = int(length)
            except (TypeError, ValueError):
                return
            note(_input_length_note(int(length)))

    # Keras reads __init__'s arguments (Operation.__new__, for get_config): it must see the
    # original's, not the wrapper's *args.
    del embedding_init.__wrapped__
    embedding_init.__signature__ = inspect.signature(original_init)
    embedding.__init__ = embedding_init

    dense = keras.layers.Dense
    original_dense_init = dense.__init__

    @functools.wraps(original_dense_init)
    def dense_init(self, *args, **kwargs):
        """TF 2.x took int(units) of a float (`Dense(total_words / 2)`); Keras 3 refuses it."""
        where = 0 if args else "units" if "units" in kwargs else None
        units = kwargs.get("units") if where == "units" else args[0] if args else None
        if isinstance(units, numbers.Real) and not isinstance(units, (numbers.Integral, bool)):
            whole = int(units)
            note(
                f"Dense(units={units!r}): TF 2.x used int(units), Keras 3 needs an int; "
                f"it ran as Dense({whole}) (write // for a whole division)"
            )
            if where == "units":
                kwargs["units"] = whole
            else:
                args = (whole, *args[1:])
        original_dense_init(self, *args, **kwargs)

    del dense_init.__wrapped__
    dense_init.__signature__ = inspect.signature(original_dense_init)
    dense.__init__ = dense_init

    original_summary, original_count = sequential.summary, sequential.count_params

    @functools.wraps(original_summary)
    def summary(self, *args, **kwargs):
        _build_from_input_length(self)
        return original_summary(self, *args, **kwargs)

    @functools.wraps(original_count)
    def count_params(self, *args, **kwargs):
        _build_from_input_length(self)
        return original_count(self, *args, **kwargs)

    sequential.summary, sequential.count_params = summary, count_params

    original_fit = model_class.fit
    fit_signature = inspect.signature(original_fit)

    @functools.wraps(original_fit)
    def fit(self, *args, **kwargs):
        cap = epochs_cap()
        if cap is not None:
            try:
                bound = fit_signature.bind(self, *args, **kwargs)
            except TypeError:
                return original_fit(self, *args, **kwargs)  # its own error message
            bound.apply_defaults()
            epochs, first = bound.arguments.get("epochs", 1), bound.arguments.get("initial_epoch")
            first = int(first) if isinstance(first, numbers.Integral) else 0
            if isinstance(epochs, numbers.Integral) and int(epochs) - first > cap:
                bound.arguments["epochs"] = first + cap
                note(
                    f"Training is capped at {cap} epoch(s) for this exercise: "
                    f"fit(epochs={epochs}) ran {cap}."
                )
                return original_fit(*bound.args, **bound.kwargs)
        return original_fit(self, *args, **kwargs)

    model_class.fit = fit
    _patch_keras_files()


# --- tensorflow_datasets and gdown --------------------------------------------------------


def _tfds_base(name):
    return str(name).split("/")[0].split(":")[0].strip()


def _missing_tfds(name):
    base = _tfds_base(name)
    return DataNotAvailable(
        f"TFDS dataset {name!r} is not in this exercise's data and the grader has no network: "
        f"ask the instructor to add it: adventures data add FOLDER --tfds (the data_dir that "
        f"tfds prepared, holding {base}/)"
    )


def _tfds_served_dir(name):
    """The manifest's TFDS data_dir when it holds this dataset, else None."""
    root = _downloads.tfds_dir()
    base = _tfds_base(name)
    if root and base and base not in (".", "..") and os.path.isdir(os.path.join(root, base)):
        return root
    return None


_TEXT_ENCODER_FILES = {"subwords": "SubwordTextEncoder", "tokens": "TokenTextEncoder"}


def _split_tfds_name(name):
    """'imdb_reviews/subwords8k:1.0.0' -> ('imdb_reviews', 'subwords8k', '1.0.0')."""
    text = str(name).strip()
    text, _, version = text.partition(":")
    base, _, config = text.partition("/")
    return base.strip(), config.strip() or None, version.strip() or None


def _version_key(text):
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return ()


def _retired_config_builder(tfds, root, name, kwargs):
    """A builder for a config the served data_dir holds but this tfds no longer registers.

    Today's tfds dropped the text-encoded configs (imdb_reviews/subwords8k, ...) the older
    lessons load, and builder_from_directory refuses their features.json. So the registered
    builder gets that config back when its config class takes a text_encoder_config and the
    folder holds the encoder's file (`text.text.subwords`): its Text feature then reads the
    encoder, as the retired config did. Other folders are read with
    tfds.builder_from_directory. None when the config is registered or nothing is served;
    DataNotAvailable when a served dataset lacks the retired config.
    """
    base, config, version = _split_tfds_name(name)
    if root is None or not config:
        return None
    try:
        cls = tfds.builder_cls(base)
    except Exception:  # noqa: BLE001 - not a registered dataset: read the folder as it is
        cls = None
    if cls is not None and any(c.name == config for c in cls.BUILDER_CONFIGS or ()):
        return None
    config_dir = os.path.join(root, base, config)
    if not os.path.isdir(config_dir):
        if cls is None:
            return None
        raise DataNotAvailable(
            f"TFDS config {base}/{config} is not in today's tensorflow-datasets nor in this "
            f"exercise's data, and the grader has no network: ask the instructor to add a "
            f"prepared data_dir holding {base}/{config}/ (adventures data add FOLDER --tfds)"
        )
    versions = [v for v in os.listdir(config_dir) if _version_key(v)]
    if version and version in versions:
        versions = [version]
    if not versions:
        return None
    chosen = max(versions, key=_version_key)
    version_dir = os.path.join(config_dir, chosen)
    encoder_cls = None
    for suffix, encoder_name in _TEXT_ENCODER_FILES.items():
        if os.path.exists(os.path.join(version_dir, "text.text." + suffix)):
            encoder_cls = getattr(tfds.deprecated.text, encoder_name)
    config_cls = type(cls.BUILDER_CONFIGS[0]) if cls is not None and cls.BUILDER_CONFIGS else None
    takes_encoder = config_cls is not None and (
        "text_encoder_config" in inspect.signature(config_cls.__init__).parameters
    )
    if encoder_cls is not None and takes_encoder:
        retired = config_cls(
            name=config,
            description=f"{config} (retired from tfds 4.x, read from the exercise's data)",
            text_encoder_config=tfds.deprecated.text.TextEncoderConfig(encoder_cls=encoder_cls),
        )
        if str(retired.version) == chosen:
            retired_cls = type(
                cls.__name__,
                (cls,),
                {
                    "name": cls.name,
                    "BUILDER_CONFIGS": [*cls.BUILDER_CONFIGS, retired],
                    "__module__": cls.__module__,  # its description and citation files
                },
                skip_registration=True,
            )
            builder_kwargs = dict(kwargs.get("builder_kwargs") or {})
            builder_kwargs.pop("config", None)
            return retired_cls(data_dir=root, config=config, **builder_kwargs)
    return tfds.builder_from_directory(version_dir)


def _retired_config_note(call, name):
    note(
        f"tfds.{call}({name!r}): today's tensorflow-datasets no longer has this config; it was "
        "read from the exercise's prepared copy (new code: the plain_text config and a "
        "TextVectorization layer)."
    )


def _patch_tfds(tfds):
    original_load, original_builder = tfds.load, tfds.builder
    if getattr(original_load, "_adventures", False):
        return
    load_signature = inspect.signature(original_load)

    def load_retired(builder, name, args, kwargs):
        """What tfds.load returns, from a builder made by _retired_config_builder."""
        bound = load_signature.bind(name, *args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments
        as_dataset_kwargs = dict(given.get("as_dataset_kwargs") or {})
        as_dataset_kwargs.setdefault("split", given["split"])
        as_dataset_kwargs.setdefault("as_supervised", given["as_supervised"])
        as_dataset_kwargs.setdefault("batch_size", given["batch_size"])
        as_dataset_kwargs.setdefault("shuffle_files", given["shuffle_files"])
        as_dataset_kwargs.setdefault("decoders", given["decoders"])
        as_dataset_kwargs.setdefault("read_config", given["read_config"])
        dataset = builder.as_dataset(**as_dataset_kwargs)
        _retired_config_note("load", name)
        return (dataset, builder.info) if given["with_info"] else dataset

    @functools.wraps(original_load)
    def load(name, *args, **kwargs):
        root = _tfds_served_dir(name)
        kwargs["download"] = False
        kwargs["try_gcs"] = False
        retired = _retired_config_builder(tfds, root, name, kwargs)
        if retired is not None:
            kwargs["data_dir"] = root
            return load_retired(retired, name, args, kwargs)
        if root is not None:
            kwargs["data_dir"] = root
            note(f"tfds.load({name!r}) read the exercise's prepared copy (no download here).")
            return original_load(name, *args, **kwargs)
        try:
            return original_load(name, *args, **kwargs)
        except (AssertionError, OSError, ValueError) as exc:  # not found: say what to add
            raise _missing_tfds(name) from exc

    @functools.wraps(original_builder)
    def builder(name, *args, **kwargs):
        root = _tfds_served_dir(name)
        retired = _retired_config_builder(tfds, root, name, kwargs)
        if retired is not None:
            _retired_config_note("builder", name)
            return retired
        if root is not None:
            kwargs["data_dir"] = root
            kwargs["try_gcs"] = False
            note(f"tfds.builder({name!r}) reads the exercise's prepared copy (no download here).")
        return original_builder(name, *args, **kwargs)

    load._adventures = builder._adventures = True
    tfds.load, tfds.builder = load, builder


def _patch_tf_data(tf):
    """TF 1.x datasets had `.output_shapes`/`.output_types` (the older lessons pass them to
    padded_batch); TF 2 has tf.compat.v1.data.get_output_shapes/get_output_types."""
    dataset = tf.data.Dataset
    compat = tf.compat.v1.data
    for attr, getter in (
        ("output_shapes", compat.get_output_shapes),
        ("output_types", compat.get_output_types),
    ):
        if hasattr(dataset, attr):
            continue

        def read(self, _attr=attr, _getter=getter):
            note(
                f"dataset.{_attr} is TF 1.x: it ran as tf.compat.v1.data.get_{_attr}(dataset) "
                "(in TF 2 use dataset.element_spec)"
            )
            return _getter(self)

        setattr(dataset, attr, property(read))


def _patch_gdown(gdown):
    original = gdown.download
    if getattr(original, "_adventures", False):
        return

    def download(url=None, output=None, quiet=False, *args, id=None, **kwargs):
        if url is None and id:
            url = f"https://drive.google.com/uc?id={id}"
        if output is not None and not isinstance(output, (str, os.PathLike)):
            raise TypeError("gdown.download here saves to a file name, not an open file")
        output = os.fspath(output) if output is not None else None
        names = [os.path.basename(output)] if output and not output.endswith("/") else []
        source = _downloads.find(url, *names)
        if source is None:
            raise _missing_url(url)
        if output is None:
            output = os.path.basename(source)
        elif output.endswith("/"):
            output = os.path.join(output, os.path.basename(source))
        _serve(url, output, *names)
        return output

    def cached_download(url=None, path=None, quiet=False, postprocess=None, hash=None, **kwargs):
        path = download(url, path, quiet, id=kwargs.get("id"))
        if postprocess is not None:
            postprocess(path)
        return path

    download._adventures = True
    gdown.download, gdown.cached_download = download, cached_download


# --- stand-ins for unittests and google.colab ----------------------------------------------


def _no_local_test(name):
    def check(*args, **kwargs):
        print(NO_LOCAL_TEST)

    check.__name__ = check.__qualname__ = name
    return check


def _fill_unittests(module):
    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _no_local_test(name)

    module.__getattr__ = __getattr__
    module.__doc__ = "Stand-in for the course's local tests: the grader checks on submit."


def _upload(*args, **kwargs):
    raise ColabOnlyError(
        "google.colab.files.upload() needs Colab in a browser, and the grader has neither. "
        "Give the data file to your instructor instead (adventures data add FILE); the "
        "notebook then reads it from ./data/."
    )


def _download(filename, *args, **kwargs):
    note(
        f"files.download({os.fspath(filename)!r}) does nothing here: the file stays in the kernel."
    )


def _fill_colab(module):
    module.__path__ = []
    module.__doc__ = "Stand-in for Colab's helpers: only what the course uses."
    module.files = importlib.import_module("google.colab.files")


def _fill_colab_files(module):
    module.upload = _upload
    module.download = _download


_STAND_INS = {
    "unittests": _fill_unittests,
    "google.colab": _fill_colab,
    "google.colab.files": _fill_colab_files,
}


class _StandInLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        _STAND_INS[module.__name__](module)


class StandInFinder(importlib.abc.MetaPathFinder):
    """Last on sys.meta_path: asked only when no real module of that name exists."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _STAND_INS:
            return None
        return importlib.util.spec_from_loader(
            fullname, _StandInLoader(), is_package=fullname == "google.colab"
        )


class _CourseStr(str):
    """A str that also answers `.numpy()`, as the tensor keras-nlp 0.11 returned did."""

    def numpy(self):
        return self.encode("utf-8")


def _patch_keras_hub(keras_hub):
    """keras-nlp 0.11 (the course's) detokenized to a string tensor, so the labs call
    `.detokenize(ids).numpy().decode()`; today's keras-hub returns a plain str."""
    tokenizers = getattr(keras_hub, "tokenizers", None)
    for cls in vars(tokenizers or object).values():
        original = isinstance(cls, type) and cls.__dict__.get("detokenize")
        if not original or getattr(original, "_adventures", False):
            continue

        def detokenize(self, inputs, *args, _original=original, **kwargs):
            result = _original(self, inputs, *args, **kwargs)
            if type(result) is str:
                note(
                    "detokenize() returns a str in today's keras-hub (a tensor in the "
                    "course's keras-nlp 0.11): `.numpy().decode()` still works here; use the "
                    "str directly in new code."
                )
                return _CourseStr(result)
            return result

        detokenize._adventures = True
        cls.detokenize = detokenize


class _AfterImport(importlib.abc.MetaPathFinder):
    """First on sys.meta_path: the usual finders load a module, then it is patched.

    For libraries too heavy to import in every kernel up front (keras-hub).
    """

    def __init__(self, patches):
        self.patches = patches

    def find_spec(self, fullname, path=None, target=None):
        patch = self.patches.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module):
            run(module)
            try:
                patch(module)
            except Exception as exc:  # noqa: BLE001 - the module still imports
                _problems.append(f"{fullname}: {type(exc).__name__}: {exc}"[:500])

        loader.exec_module = exec_module
        return spec


# --- the kernel side: matplotlib inline, a Colab magic --------------------------------------


def _inline_figures(shell):
    """Figures become image/png outputs, after plt.show() or left at a cell's end.

    At 72 dpi, classic Jupyter's inline size: a course lab's training plots then fit
    in the output the grader keeps (a 12x6 inch figure is about 30 KB, not 55).
    """
    import matplotlib

    matplotlib.use(INLINE_BACKEND)
    shell.enable_matplotlib("inline")
    matplotlib.rcParams["figure.dpi"] = 72


def _tensorflow_version(line=""):
    note("%tensorflow_version is Colab's: this grader always runs TensorFlow 2, nothing to do.")


def install(shell=None, settings=None):
    """Set everything up in this kernel; never raises (what fails is kept in _problems)."""
    if settings:
        _settings.update({k: v for k, v in settings.items() if k in _settings})
    steps = [
        ("builtins", lambda: _install_builtins()),
        ("sys.path", _working_folder_importable),
        ("stand-ins", lambda: sys.meta_path.append(StandInFinder())),
        ("after-import", lambda: sys.meta_path.insert(0, _AfterImport(_AFTER_IMPORT))),
        ("urllib", _patch_urllib),
    ]
    for name, patch in (
        ("keras", _patch_keras),
        ("tensorflow_datasets", _patch_tfds),
        ("tensorflow", _patch_tf_data),
        ("gdown", _patch_gdown),
    ):
        steps.append((name, functools.partial(_patch_if_imported, name, patch)))
    if shell is not None:
        steps.append(("matplotlib", lambda: _inline_figures(shell)))
        steps.append(
            (
                "magics",
                lambda: shell.register_magic_function(
                    _tensorflow_version, "line", "tensorflow_version"
                ),
            )
        )
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - a kernel without one patch still grades
            _problems.append(f"{name}: {type(exc).__name__}: {exc}"[:500])


_AFTER_IMPORT = {"keras_hub": _patch_keras_hub}


def _working_folder_importable():
    """'' on sys.path just before site-packages, as IPython itself adds it (it does not
    under `python -I`, which the sandbox uses): a notebook imports its folder's modules."""
    if "" in sys.path:
        return
    index = 0
    for i, path in enumerate(sys.path):
        if os.path.basename(path) in ("site-packages", "dist-packages"):
            index = i
            break
    sys.path.insert(index, "")


def _install_builtins():
    builtins.__adventures_fetch__ = fetch
    builtins.__adventures_unpack__ = unpack
    builtins.__adventures_notes__ = notes


def _patch_urllib():
    import urllib.request

    urllib.request.urlretrieve = urlretrieve


def _patch_if_imported(name, patch):
    """Patch a module the zygote imported; one it did not is imported now, if installed."""
    module = sys.modules.get(name)
    if module is None:
        try:
            module = importlib.import_module(name)
        except ImportError:
            return
    patch(module)
