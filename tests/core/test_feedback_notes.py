"""A grade's feedback text as HTML (templates/_feedback.html): summary, notes, `code`, escaping."""

from __future__ import annotations


def _notes(app, output: str) -> str:
    with app.test_request_context():
        return str(
            app.jinja_env.get_template("_feedback.html").module.notes(output, id="grade-notes")
        )


def test_summary_then_one_item_per_note_with_code_spans(app):
    html = _notes(
        app,
        "5 of 5 checks passed: 5 of 5 points.\n"
        "Training was skipped for grading (cell 16). Left unset because of this: `history`.\n"
        "\n"
        "Cell 4: `!wget -q https://example.org/a.csv` ran as Python.",
    )
    assert '<p class="grade-summary">5 of 5 checks passed: 5 of 5 points.</p>' in html
    assert html.count("<li>") == 2  # the blank line is not a note
    assert "Left unset because of this: <code>history</code>." in html
    assert "<code>!wget -q https://example.org/a.csv</code> ran as Python." in html
    assert "`" not in html


def test_markup_in_notes_is_escaped_and_a_cut_backtick_stays_text(app):
    html = _notes(app, "1 of 2 checks passed.\n<b>x</b> in `<i>`\nCell 3: `!wget https://exa…")
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<code>&lt;i&gt;</code>" in html
    assert "<li>Cell 3: `!wget https://exa…</li>" in html  # unbalanced: no <code> to the end


def test_no_output_gives_a_hidden_container_for_the_live_page(app):
    html = _notes(app, "")
    assert 'id="grade-notes"' in html and "hidden" in html and "<li>" not in html


def test_ticks_takes_none_and_numbers(app):
    with app.test_request_context():
        ticks = app.jinja_env.get_template("_feedback.html").module.ticks
        assert str(ticks(None)) == "" and str(ticks(3)) == "3"
        assert str(ticks("run `adventures data add x`")) == "run <code>adventures data add x</code>"
