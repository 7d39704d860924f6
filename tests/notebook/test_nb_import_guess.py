"""Which datasets the importer asks for: files beside the notebook count, as DLAI labs read them."""

from __future__ import annotations

import nbformat

from graders.notebook.importer import guess_datasets


def notebook(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def guesses(*sources: str) -> dict[str, tuple[list[str], list[str]]]:
    found, _notes = guess_datasets(notebook(*sources))
    return {g.name: (g.paths, g.urls) for g in found}


def test_a_commented_out_download_and_a_local_read_put_the_file_beside_the_notebook():
    found = guesses(
        "# Download the dataset\n# !wget -nc https://example.org/course/headlines.json",
        "with open('./headlines.json', 'r') as f:\n    data = json.load(f)",
    )
    assert found == {
        "headlines.json": (["headlines.json"], ["https://example.org/course/headlines.json"])
    }


def test_a_path_given_to_a_library_is_a_local_file_when_its_download_is_known():
    found = guesses(
        "# !wget https://example.org/vocab_words.txt",
        "tok = WordPieceTokenizer(\n    vocabulary='./vocab_words.txt')",
    )
    assert found["vocab_words.txt"][0] == ["vocab_words.txt"]


def test_files_the_notebook_writes_are_not_datasets():
    found = guesses(
        "out = open('vecs.tsv', 'w', encoding='utf-8')",
        "with open('./meta.tsv', mode='a') as f:\n    f.write('x')",
        "df = pd.read_csv('news.csv')",
    )
    assert set(found) == {"news.csv"} and found["news.csv"][0] == ["news.csv"]


def test_data_folder_reads_stay_under_data():
    found = guesses("pd.read_csv('./data/news.csv')")
    assert found == {"news.csv": ([], [])}


def test_a_file_the_notebook_writes_itself_is_not_put_beside_it():
    found = guesses(
        "compute_vocabulary(texts, vocabulary_output_file='vocab_words.txt')",
        "# !wget -nc https://example.org/vocab_words.txt",
        "tok = WordPieceTokenizer(vocabulary='./vocab_words.txt')",
        "with open('notes.txt', 'w') as f:\n    f.write('x')\nprint(open('./notes.txt').read())",
    )
    assert found["vocab_words.txt"][0] == []
    assert found["notes.txt"][0] == []
