"""The answer pipeline's own logic, with a fake LLM so that every answer is deterministic.

The store and the embedding model are real; only the LLM's replies are scripted.
"""

from __future__ import annotations

import re

import pytest

from retrieval.answering import counts_nothing, echoes_question, lowered_after_prefix, snippet_of, without_excerpt_talk
from retrieval.errors import BadInputError
from tests.conftest import SAMPLE
from tests.fakes import FakeScriptedLLM


@pytest.fixture
def engine_with(make_engine):  # type: ignore[no-untyped-def]
    def build(**kwargs):  # type: ignore[no-untyped-def]
        engine = make_engine(llm=FakeScriptedLLM(**kwargs))
        engine.ingest_paths([SAMPLE.parent])
        return engine

    return build


def test_fake_llm_answer_is_cited_with_numbered_sources(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="Fayez al-Serraj leads it [1].").ask("who leads the unity government?")
    assert not answer.abstained
    assert answer.answer == "Fayez al-Serraj leads it [1]."
    assert answer.sources[0].n == 1 and answer.sources[0].title == "libye 2016"
    assert set(answer.timings_ms) >= {"retrieve", "generate"}


@pytest.mark.parametrize("opening", ["According to the first excerpt, ", "In excerpt [1], ", "Selon l'extrait 1, ",
                                     "According to the latest news article [1], ", "Según los artículos, "])
def test_fake_llm_answer_does_not_talk_of_excerpts_the_reader_never_saw(engine_with, opening: str) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply=opening + "Fayez al-Serraj leads it [1].").ask("who leads the unity government?")
    assert answer.answer == "Fayez al-Serraj leads it [1]." and answer.sources[0].title == "libye 2016"


@pytest.mark.parametrize(("reply", "shown"), [
    # seen: "Carl Wilhelm Scheele discovered oxygen in 1773 or before, according to the excerpt. [1]" (xquad),
    # "The unity government is led by the government of Fayez al-Serraj, as stated in [1][2]."
    ("Fayez al-Serraj leads it, as stated in [1].", "Fayez al-Serraj leads it [1]."),
    ("Fayez al-Serraj leads it, as stated in both excerpts.", "Fayez al-Serraj leads it. [1]"),
    ("Fayez al-Serraj leads it, according to the first excerpt [1].", "Fayez al-Serraj leads it [1]."),
    ("Fayez al-Serraj le dirige, selon l'extrait [1].", "Fayez al-Serraj le dirige [1]."),
    ("Fayez al-Serraj leads it. This is stated in [1].", "Fayez al-Serraj leads it. [1]"),
    # an agreement is not an excerpt
    ("Fayez al-Serraj leads it, as stated in the Skhirat agreement [1].",
     "Fayez al-Serraj leads it, as stated in the Skhirat agreement [1]."),
])
def test_fake_llm_answer_does_not_end_on_where_the_excerpts_say_it(engine_with, reply: str, shown: str) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply=reply).ask("who leads the unity government?")
    assert answer.answer == shown and answer.sources[0].title == "libye 2016"


def test_citations_joined_by_and_at_the_end_are_kept_as_citations() -> None:
    # seen in an xquad run: "The European Union has legislative veto power, as stated in [1] and [2]."
    assert without_excerpt_talk("The Council has veto power, as stated in [1] and [2].") == \
        "The Council has veto power [1][2]."


def test_fake_llm_sentences_about_the_excerpts_after_the_answer_are_left_out(engine_with) -> None:  # type: ignore[no-untyped-def]
    """Seen over the samples: "… is more than 20%. The second excerpt states that the unemployment rate
    is more than 20%. The third excerpt also mentions …", of excerpts that said no such thing."""
    reply = ("Fayez al-Serraj leads it. The second excerpt states that he leads it. "
             "Excerpt 3 also mentions the government [1].")
    answer = engine_with(reply=reply).ask("who leads the unity government?")
    assert answer.answer == "Fayez al-Serraj leads it. [1]"


@pytest.mark.parametrize("question", ["Who leads the unity government?", "who leads the unity government"])
def test_fake_llm_question_copied_before_the_answer_is_left_out(engine_with, question: str) -> None:  # type: ignore[no-untyped-def]
    """Seen in an evaluation: "By what main attribute are …? The main attribute is their difficulty"."""
    answer = engine_with(reply="Who leads the unity government? Fayez al-Serraj leads it [1].").ask(question)
    assert answer.answer == "Fayez al-Serraj leads it [1]."


@pytest.mark.parametrize(("reply", "question"), [
    ("Luther called the mass instead of sacrifice [1].", "What did Luther call the mass instead of sacrifice?"),
    # where the words are is not what they say
    ("The timeline is further expanded in the fourth scale in excerpt [2].",
     "Which timeline is further expanded in the fourth scale?"),
    # the only new word completes a name the question used: the question's own subject again
    ("The Broncos defeated the Denver Broncos in the AFC Championship game [1].",
     "Who did the Broncos defeat in the AFC Championship game?"),
    ("Martin Luther went to Wittenberg to hear Luther speak [1].", "Who went to Wittenberg to hear Luther speak?"),
])
def test_an_answer_that_adds_no_word_to_the_question_is_an_echo(reply: str, question: str) -> None:
    assert echoes_question(reply, question)


def test_fake_llm_answer_that_only_repeats_the_question_is_withdrawn(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="The unity government is led [1].").ask("who leads the unity government?")
    assert answer.abstained and answer.sources == [] and "repeats the question" in answer.reason


@pytest.mark.parametrize(("reply", "question"), [
    ("Yes, the Panthers won [1].", "Did the Panthers win?"),
    ("Better [1].", "Was the Panthers' defense better or worse?"),
    ("Peyton Manning took two different teams to the Super Bowl [1].",
     "Peyton Manning took how many different teams to the Super Bowl?"),
    ("The spiritual teacher in Hinduism is the guru [1].", "What is the spiritual teacher in Hinduism called?"),
    # the answer is a word the question already holds: it fills the gap with it, a second time
    ("The Amazon rainforest covers the majority of the Amazon basin in South America [1].",
     "What rainforest covers the majority of the Amazon basin in South America?"),
    ("According to the article, Thomas Davis had four forced fumbles [1].",
     "How many forced fumbles did Thomas Davis have?"),
    ("The Broncos defeated the New England Patriots [1].", "Who did the Broncos defeat?"),
    ("Martin Luther [1].", "What was Luther's first name?"),
    ("Franklin Roosevelt was president during the war [1].", "Which Roosevelt was president during the war?"),
    # a name in quotes is given as the answer, not taken for the question's subject named in full
    ('The new name Macedonia would be "North Macedonia Republic". [1]', "What new name would Macedonia take?"),
    ("Le pays s'appellerait « Macédoine du Nord » [1].", "Quel nouveau nom la Macédoine prendrait-elle ?"),
])
def test_an_answer_in_the_question_s_own_words_is_not_taken_for_an_echo(reply: str, question: str) -> None:
    assert not echoes_question(reply, question)


def test_fake_llm_refusal_marker_means_abstention(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="NOT_IN_ARTICLES").ask("who leads the unity government?")
    assert answer.abstained and answer.sources == []
    assert answer.answer == "The articles do not say."
    # said in the asker's language, Russian and Japanese too (they were told in English)
    assert engine_with(reply="NOT_IN_ARTICLES").ask("Кто возглавляет правительство?").answer == \
        "В статьях об этом не сказано."
    assert engine_with(reply="NOT_IN_ARTICLES").ask("統一政府を率いているのは誰ですか？").answer == \
        "記事には書かれていません。"


@pytest.mark.parametrize(("reply", "question", "refusal"), [
    # seen over the samples: read as an answer, it got the date prefix and passed the support check
    ("Según un artículo, NO_EN_ARTICLES [1]", "¿Quién dirige el gobierno de unidad?", "Los artículos no lo dicen."),
    ("PAS_DANS_LES_ARTICLES", "Qui dirige le gouvernement d'union ?", "Les articles ne le disent pas."),
    ("NICHT_IN_DEN_ARTIKELN", "Wer führt die Einheitsregierung?", "Die Artikel sagen dazu nichts."),
])
def test_fake_llm_the_refusal_marker_translated_is_a_refusal(engine_with, reply: str, question: str,
                                                             refusal: str) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply=reply).ask(question)
    assert answer.abstained and answer.sources == [] and answer.answer == refusal


def test_fake_llm_citations_side_by_side_are_shown_once_each(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="Fayez al-Serraj leads the unity government [1] [1][1].").ask(
        "who leads the unity government?")
    assert answer.answer == "Fayez al-Serraj leads the unity government [1]."


def test_fake_llm_judged_irrelevant_passages_are_never_sent_to_the_model(engine_with) -> None:  # type: ignore[no-untyped-def]
    engine = engine_with(reply="Lima [1]", verdict="No")
    answer = engine.ask("What is the capital of Peru?")
    assert answer.abstained
    assert not any(call.startswith("Excerpts:") for call in engine.llm.calls)


def test_fake_llm_invented_number_is_caught_by_the_grounding_check(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="The US will send twenty-five to thirty soldiers [1].").ask(
        "How many soldiers will the US send to Libya?")
    assert answer.abstained and "numbers" in answer.reason


def test_fake_llm_answer_the_verifier_rejects_is_withdrawn(engine_with) -> None:  # type: ignore[no-untyped-def]
    def verdict(prompt: str) -> str:
        return "No" if "Statement:" in prompt else "Yes"

    answer = engine_with(reply="Lima [1]", verdict=verdict).ask("who leads the unity government?")
    assert answer.abstained and "grounding" in answer.reason


def test_fake_llm_an_unsupported_answer_is_searched_again_with_the_first_letter_of_the_question_lowered(
        make_engine) -> None:  # type: ignore[no-untyped-def]
    """Scripted as the packaged model behaved: its translation of the question, al-Serraj where the
    article's first chunk is among the excerpts, else the man quoted twice, which the support check
    refuses."""
    lead = "Les Etats-Unis ont l'intention"

    def reply(prompt: str) -> str:
        excerpts = re.split(r"\n\[(\d+)\] ", "\n" + prompt.split("Excerpts:", 1)[1])
        for n, text in zip(excerpts[1::2], excerpts[2::2], strict=True):
            if lead in text:
                return f"The unity government is led by Fayez al-Serraj. [{n}]"
        return "The unity government is led by M. Al-Theni. [1]"

    def verdict(prompt: str) -> str:
        return "No" if "Statement:" in prompt and "Al-Theni" in prompt.split("Statement:")[1] else "Yes"

    engine = make_engine(llm=FakeScriptedLLM(reply=reply, verdict=verdict,
                                             translation="Qui dirige le gouvernement de l'unité ?"))
    engine.ingest_paths([SAMPLE])
    answer = engine.ask("Who leads the unity government?")
    assert not answer.abstained and "Fayez al-Serraj" in answer.answer
    assert answer.sources[0].chunk_id.endswith("#0") and "Fayez al-Serraj" in answer.sources[0].snippet
    assert "search_again" in answer.timings_ms
    # typed that way, the first search had missed that chunk
    assert lead not in " ".join(h.text for h in engine.pipeline().search.search(answer.question, ["default"], 4))


def test_fake_llm_the_cited_snippet_shows_the_sentence_that_names_the_answer(engine_with) -> None:  # type: ignore[no-untyped-def]
    """The chunk the sample question's answer cites opens on the naval base where the government sits;
    only its last sentence names al-Serraj, and the reader was shown the opening."""
    def reply(prompt: str) -> str:
        n = next(m.group(1) for m in re.finditer(r"\[(\d+)\] [^\n]*\n([^\n]*)", prompt)
                 if m.group(2).startswith("Les armes et l'aide militaire"))
        return f"The unity government is led by Fayez al-Serraj. [{n}]"

    answer = engine_with(reply=reply).ask("who leads the unity government?")
    [source] = answer.sources
    assert source.snippet.startswith("… ") and "Fayez al-Serraj" in source.snippet
    assert "Les armes et l'aide militaire" not in source.snippet and len(source.snippet) <= 204


def test_a_snippet_keeps_its_opening_unless_the_answer_is_said_only_further_on() -> None:
    passage = ("Les armes seront destinées au gouvernement d'union, installé dans une base navale à Tripoli. "
               + "Le sommet de Vienne a décidé que seul ce gouvernement représente la Libye. " * 3
               + "Il soutient l'Exécutif de Fayez al-Serraj. Les sanctions suivront.")
    moved = snippet_of(passage, answer="It is led by Fayez al-Serraj. [1]", question="who leads it?")
    assert moved == "… Il soutient l'Exécutif de Fayez al-Serraj. Les sanctions suivront."
    opening = snippet_of(passage, answer="It sits in Tripoli. [1]", question="where is it?")
    assert opening.startswith("Les armes") and opening.endswith(" …") and len(opening) <= 202
    asked = snippet_of(passage, answer="Fayez al-Serraj leads it. [1]", question="Does Fayez al-Serraj lead it?")
    assert asked == opening  # the question's own names are no answer to show


def test_fake_llm_a_model_that_finds_nothing_is_not_searched_again(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(llm=FakeScriptedLLM(reply="NOT_IN_ARTICLES",
                                             translation="Qui dirige le gouvernement de l'unité ?"))
    engine.ingest_paths([SAMPLE])
    answer = engine.ask("Who leads the unity government?")
    assert answer.abstained and "search_again" not in answer.timings_ms


def test_fake_llm_reply_of_citations_alone_is_no_answer(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="[1] [2] [3]").ask("who leads the unity government?")
    assert answer.abstained and answer.sources == [] and "no answer" in answer.reason


def test_fake_llm_answer_without_citation_cites_the_judged_passage(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="Fayez al-Serraj").ask("who leads the unity government?")
    assert answer.answer == "Fayez al-Serraj [1]" and len(answer.sources) == 1


def test_fake_llm_out_of_range_citation_is_dropped(engine_with) -> None:  # type: ignore[no-untyped-def]
    answer = engine_with(reply="Fayez al-Serraj [1][9]").ask("who leads the unity government?")
    assert "[9]" not in answer.answer and [s.n for s in answer.sources] == [1]


def test_fake_llm_follow_up_is_condensed_before_retrieval(engine_with) -> None:  # type: ignore[no-untyped-def]
    def reply(prompt: str) -> str:
        if prompt.startswith("Conversation:"):
            return "Who is the UN special envoy to Libya?"
        return "Martin Kobler [1]"

    engine = engine_with(reply=reply)
    answer = engine.ask("and the UN's envoy?", history=[("who leads the unity government?", "Fayez al-Serraj [1]")])
    assert answer.standalone_question == "Who is the UN special envoy to Libya?"
    assert "Kobler" in " ".join(h.text for h in answer.retrieved[:2])


@pytest.mark.parametrize("question", ["", "   ", "x" * 1_000_000])
def test_empty_or_huge_question_is_bad_input(engine_with, question: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadInputError):
        engine_with().ask(question)


def test_extractive_backend_cites_supporting_sentences(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(llm=None)
    engine.ingest_paths([SAMPLE])
    answer = engine.ask("Who is the UN special envoy to Libya?")
    assert not answer.abstained and "Martin Kobler" in answer.answer and "[1]" in answer.answer


MARCH = {"doc_id": "marche", "title": "Marche à Tripoli", "lang": "fr",
         "text": "Environ 16 000 personnes ont défilé à Tripoli en 2016 pour soutenir le gouvernement d'union "
                 "nationale, selon la police. Le cortège a parcouru 1,5 kilomètre jusqu'à la place des Martyrs."}


HIV = {"doc_id": "vih", "title": "VIH / Sida : La Chine signale une hausse de 14 % de nouveaux cas", "lang": "fr",
       "text": "La Chine a indiqué une augmentation de 14 % du nombre de ses habitants atteints du VIH et du sida. "
               "Près de 40 000 nouveaux cas ont été signalés au deuxième trimestre de 2018."}


@pytest.mark.parametrize(("question", "reply", "stands"), [
    ("Did China report a 40% rise in HIV cases?", "Yes, China reported a 40% rise in HIV cases. [1]", False),
    ("Did China report a 14% rise in HIV cases?", "Yes, China reported a 14% rise in HIV cases. [1]", True),
    ("La Chine a-t-elle signalé une hausse de 40 % ?", "Oui, la Chine a signalé une hausse de 40 %. [1]", False),
    # not a yes: the question's own number is no claim of the answer ("on a 3rd and nine")
    ("What rose by 14% in China?", "The number of people with HIV rose by 14%. [1]", True),
])
def test_fake_llm_a_yes_to_the_question_s_number_needs_the_article_to_give_it(
        make_engine, question: str, reply: str, stands: bool) -> None:  # type: ignore[no-untyped-def]
    answer = engine_over(make_engine, HIV, reply).ask(question)
    assert answer.abstained is not stands, answer.reason
    if not stands:
        assert answer.reason.startswith("the answer states numbers the articles do not give"), answer.reason


def engine_over(make_engine, record: dict[str, str], reply: str, **fake: object):  # type: ignore[no-untyped-def]
    from retrieval.loading import article_from_record

    engine = make_engine(llm=FakeScriptedLLM(reply=reply, **fake))
    engine.ingest_articles([article_from_record(record, record["doc_id"])])
    return engine


def test_fake_llm_number_in_words_of_another_language_is_not_taken_for_an_invented_one(make_engine) -> None:  # type: ignore[no-untyped-def]
    amazonia = {"doc_id": "amazonia", "title": "Amazonia", "lang": "es",
                "text": "La selva amazónica alberga unos 16 millones de especies de árboles, según un estudio de "
                        "2013. La deforestación amenaza a muchas de ellas."}
    engine = engine_over(make_engine, amazonia, "The Amazon holds about 16 million tree species [1].")
    answer = engine.ask("How many tree species does the Amazon rainforest hold?")
    assert not answer.abstained, answer.reason
    assert "16 million" in answer.answer and answer.sources[0].id == "amazonia"


def test_fake_llm_thousands_copied_from_a_french_passage_are_written_the_english_way(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = engine_over(make_engine, MARCH, "About 16 000 people marched 1,5 km, in 2016 [1].")
    answer = engine.ask("How many people marched in Tripoli?")
    assert not answer.abstained, answer.reason
    assert "About 16,000 people marched 1.5 km, in 2016 [1]." in answer.answer  # the year is left alone


def test_fake_llm_small_number_the_article_spelled_out_is_spelled_out_in_the_answer(make_engine) -> None:  # type: ignore[no-untyped-def]
    panthers = {"doc_id": "panthers", "title": "Panthers", "lang": "es",
                "text": "Thomas Davis, el linebacker de los Panthers, forzó cuatro balones sueltos y logró 3 capturas "
                        "en la temporada regular, antes de la final de la NFL."}
    engine = engine_over(make_engine, panthers, "Thomas Davis had 4 forced fumbles and 3 sacks [1].")
    answer = engine.ask("How many forced fumbles did Thomas Davis have?")
    assert not answer.abstained, answer.reason
    assert "Thomas Davis had four forced fumbles and three sacks [1]." in answer.answer  # as English writes 3


def test_fake_llm_digit_group_split_by_the_tokenizer_is_rejoined_not_rejected(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = engine_over(make_engine, MARCH, "About 16, 000 people marched [1].")
    answer = engine.ask("How many people marched in Tripoli?")
    assert not answer.abstained, answer.reason
    assert "About 16,000 people marched [1]." in answer.answer


def test_fake_llm_invented_detail_is_cut_and_the_supported_answer_kept(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = engine_over(make_engine, MARCH, "About 16 000 people marched [1]. It was the largest march since 1969.")
    answer = engine.ask("How many people marched in Tripoli?")
    assert not answer.abstained, answer.reason
    assert "16,000 people marched [1]." in answer.answer and "1969" not in answer.answer


RAILWAYS = {"doc_id": "vias", "title": "Ferrocarriles de Victoria", "lang": "es",
            "text": "Las líneas de vía estrecha se construyeron en zonas montañosas del estado de Victoria, "
                    "donde el terreno hacía demasiado caras las líneas de vía ancha."}


INDICADOR = {"doc_id": "indicador", "title": "Máquina de vapor", "lang": "es",
             "text": "El indicador de la máquina de vapor de Charles Porter se mostró en la Exposición de "
                     "Londres de 1862, donde fue premiado."}
REGION = {"doc_id": "region", "title": "La región", "lang": "es",
          "text": "La capital de la región es un puerto importante, aunque el área total de la región es "
                  "pequeña comparada con la de sus vecinas."}
RAILWAYS_Q = "Where were the narrow gauge lines built in Victoria?"


@pytest.mark.parametrize(("record", "question", "draft", "rewrite", "final"), [
    pytest.param(RAILWAYS, RAILWAYS_Q, "They were built in zonas montañosas [1].",
                 "They were built in mountainous areas [1].", "They were built in mountainous areas [1].",
                 id="spanish-words-rewritten"),
    # "Londres" is a name and has no accent: only its frequency in English and Spanish gives it away.
    pytest.param(INDICADOR, "Where was the Charles Porter steam engine indicator shown?",
                 "It was shown at the Exposition of Londres in 1862 [1].",
                 "It was shown at the London Exhibition in 1862 [1].",
                 "It was shown at the London Exhibition in 1862 [1].", id="one-spanish-name-rewritten"),
    pytest.param(REGION, "How big is the region?", "The total area of the region is small [1].",
                 "A rewrite nobody asked for [1].", "The total area of the region is small [1].",
                 id="words-english-shares-left-alone"),
    pytest.param(RAILWAYS, RAILWAYS_Q, "They were built in zonas montañosas [1].",
                 "They were built in mountainous areas.", "They were built in zonas montañosas [1].",
                 id="rewrite-that-loses-the-citation-unused"),
])
def test_fake_llm_answer_that_kept_spanish_words_is_rewritten_in_english(  # type: ignore[no-untyped-def]
        make_engine, record: dict[str, str], question: str, draft: str, rewrite: str, final: str) -> None:
    engine = engine_over(make_engine, record, draft, rewrite=rewrite)
    answer = engine.ask(question)
    assert not answer.abstained, answer.reason
    assert answer.answer == final


def test_fake_llm_answer_to_a_short_french_question_typed_without_accents_stays_in_french(make_engine) -> None:  # type: ignore[no-untyped-def]
    # Taken for English (no language was sure of it), the question had its French answer rewritten in English.
    bresil = {"doc_id": "bresil", "title": "Le Brésil", "lang": "fr",
              "text": "Le Brésil est le plus grand pays d'Amérique du Sud : il appartient au continent "
                      "sud-américain et partage une frontière avec presque tous ses voisins."}
    engine = engine_over(make_engine, bresil, "Le Brésil appartient au continent sud-américain [1].",
                         rewrite="Brazil belongs to the South American continent [1].")
    answer = engine.ask("a quel continent appartient le Bresil?")
    assert not answer.abstained, answer.reason
    assert answer.answer == "Le Brésil appartient au continent sud-américain [1]."


def test_fake_llm_lost_among_excerpts_gets_one_look_at_the_judged_passage_alone(engine_with) -> None:  # type: ignore[no-untyped-def]
    def reply(prompt: str) -> str:  # a small model that finds nothing once a second excerpt is there
        return "NOT_IN_ARTICLES" if "\n[2] " in prompt else "Fayez al-Serraj [1]"

    engine = engine_with(reply=reply)
    answer = engine.ask("who leads the unity government?")
    assert not answer.abstained and answer.answer == "Fayez al-Serraj [1]"
    assert [s.n for s in answer.sources] == [1]
    assert sum(call.startswith("Excerpts:") for call in engine.llm.calls) == 2


def test_fake_llm_answer_withdrawn_among_excerpts_gets_one_look_at_the_judged_passage_alone(engine_with) -> None:  # type: ignore[no-untyped-def]
    def reply(prompt: str) -> str:  # a small model that misreads the number once a second excerpt is there
        misread = "\n[2] " in prompt
        return "The US will send 11 soldiers [1]." if misread else "The US will send about twenty soldiers [1]."

    engine = engine_with(reply=reply)
    answer = engine.ask("How many soldiers will the US send to Libya?")
    assert not answer.abstained, answer.reason
    assert answer.answer == "The US will send about twenty soldiers [1]." and [s.n for s in answer.sources] == [1]
    assert answer.checks["withdrawn"] == "The US will send 11 soldiers [1]."  # shown by eval --details
    assert "retry" in answer.timings_ms  # the second look's time, apart from the first answer's


@pytest.mark.parametrize(("question", "reply"), [
    ("How many soldiers will the US send to Libya?", "The US will send 11 soldiers [1]."),  # a number invented
    ("Who leads the unity government?", "The unity government is led by its leaders [1]."),  # an echo
    # seen in Portuguese: "The answer is in the first and second paragraphs of the first excerpt."
    ("Quantos soldados os Estados Unidos querem enviar para a Líbia?",
     "A resposta está no primeiro e segundo parágrafos do primeiro extrato. [1]"),
    ("Who leads the unity government?", "The answer can be found in the second paragraph [1]."),
])
def test_fake_llm_answer_withdrawn_again_on_the_judged_passage_alone_is_refused(  # type: ignore[no-untyped-def]
        engine_with, question: str, reply: str) -> None:
    engine = engine_with(reply=reply)
    answer = engine.ask(question)
    assert answer.abstained and not answer.sources
    assert sum(call.startswith("Excerpts:") for call in engine.llm.calls) == 2
    assert answer.checks["withdrawn"] == answer.checks["retried"] == reply


def test_fake_llm_refusal_on_the_judged_passage_alone_is_final(engine_with) -> None:  # type: ignore[no-untyped-def]
    engine = engine_with(reply="NOT_IN_ARTICLES")
    answer = engine.ask("who leads the unity government?")
    assert answer.abstained and sum(call.startswith("Excerpts:") for call in engine.llm.calls) <= 2


TSUNAMI = {"doc_id": "tsunami", "lang": "fr",
           "title": "Indonésie : le bilan des victimes du tsunami s'alourdit, on compte plus de 800 morts",
           "text": "Les secouristes fouillent les décombres à Palu. Un petit garçon a été retrouvé dans les égouts, "
                   "et une femme a été libérée après deux jours sous les ruines, près du corps de sa mère."}


def judge_reads_only_headlines(prompt: str) -> str:
    """The judge passes a passage that is a headline alone, the support check passes every answer."""
    if prompt.startswith("Passage:"):
        passage = prompt.split("\n", 1)[1].split("\n\nQuestion:")[0]
        return "Yes" if passage.startswith("Indonésie") and "\n" not in passage else "No"
    return "Yes"


def test_fake_llm_headline_that_alone_answers_lets_its_article_answer(make_engine) -> None:  # type: ignore[no-untyped-def]
    """"How many people died in the Indonesian tsunami?" was refused over the samples: the number is
    only in the headline, and the judge had read only the paragraphs."""
    engine = engine_over(make_engine, TSUNAMI, "More than 800 people died [1].", verdict=judge_reads_only_headlines)
    answer = engine.ask("How many people died in the Indonesian tsunami?")
    assert not answer.abstained, answer.reason
    assert answer.answer == "More than 800 people died [1]." and answer.sources[0].id == "tsunami"
    assert answer.checks["judge"] == [0.0] and answer.checks["headline"] == [1.0]


def test_fake_llm_a_title_that_is_a_label_is_not_judged_alone(make_engine) -> None:  # type: ignore[no-untyped-def]
    label = {**TSUNAMI, "title": "Indonésie_séisme_et_tsunami_de_Palu"}  # a label, as xquad's titles: no fact
    engine = engine_over(make_engine, label, "More than 800 people died [1].", verdict=judge_reads_only_headlines)
    answer = engine.ask("How many people died in the Indonesian tsunami?")
    assert answer.abstained and "relevance check" in answer.reason and "headline" not in answer.checks


def test_fake_llm_number_the_headline_gives_as_a_bound_keeps_its_bound(make_engine) -> None:  # type: ignore[no-untyped-def]
    """"800 people died in the Indonesian tsunami. [1]", over "on compte plus de 800 morts"."""
    engine = engine_over(make_engine, TSUNAMI, "800 people died in the Indonesian tsunami [1].")
    answer = engine.ask("How many people died in the Indonesian tsunami?")
    assert answer.answer == "More than 800 people died in the Indonesian tsunami [1]."


def test_fake_llm_headline_of_another_year_s_event_does_not_answer(make_engine) -> None:  # type: ignore[no-untyped-def]
    """The judge passed the 2018 headline for a question about 2004 (P 0.94) and "More than 800 people
    died in the 2004 Indian Ocean tsunami" came out: a year the article never writes rules it out."""
    engine = engine_over(make_engine, TSUNAMI, "More than 800 people died [1].", verdict=judge_reads_only_headlines)
    answer = engine.ask("How many people died in the 2004 Indian Ocean tsunami?")
    assert answer.abstained and "relevance check" in answer.reason and "headline" not in answer.checks


ELBE = {"doc_id": "elbe", "lang": "de", "date": "2024-06-05", "title": "Hochwasser in Sachsen: Pegel der Elbe sinkt",
        "text": "Nach tagelangem Regen ist der Pegel der Elbe in Dresden am Mittwoch erstmals wieder gesunken. "
                "Am Dienstagabend hatte der Fluss mit 6,45 Metern seinen Höchststand erreicht. In Meißen "
                "mussten etwa 300 Anwohner ihre Wohnungen vorübergehend verlassen."}


def test_fake_llm_hedged_answer_reads_on_in_lower_case_after_the_article_s_date(make_engine) -> None:  # type: ignore[no-untyped-def]
    """"According to an article of 5 June 2024, About 300 inhabitants had to leave …" was seen."""
    engine = engine_over(make_engine, ELBE, "300 residents of Meißen had to leave their homes [1].")
    answer = engine.ask("How many people had to leave their homes in Meißen?")
    assert answer.answer == ("According to an article of 5 June 2024, about 300 residents of Meißen had to leave "
                             "their homes [1].")


def test_fake_llm_answer_giving_the_article_s_own_date_is_not_taken_for_invented_numbers(make_engine) -> None:  # type: ignore[no-untyped-def]
    """The passage says "am Mittwoch" under its date, 2024-06-05, which the model reads with it; "June 5,
    2024" was withdrawn as numbers the articles do not give (5, 2024)."""
    engine = engine_over(make_engine, ELBE, "The water level began to fall on June 5, 2024 [1].")
    answer = engine.ask("When did the water level of the Elbe start to fall?")
    assert not answer.abstained, answer.reason
    assert answer.answer == "The water level began to fall on June 5, 2024 [1]."


def test_fake_llm_answer_giving_the_article_s_year_alone_is_not_taken_for_an_invented_number(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = engine_over(make_engine, ELBE, "In 2024 the Elbe in Dresden began to fall after days of rain [1].")
    answer = engine.ask("What happened to the water level of the Elbe in Dresden?")
    assert not answer.abstained, answer.reason
    assert answer.answer == "In 2024 the Elbe in Dresden began to fall after days of rain [1]."


def test_fake_llm_date_the_passages_never_give_is_cut_and_the_answer_kept(make_engine) -> None:  # type: ignore[no-untyped-def]
    """"The Elbe reached its peak of 6.45 meters in Dresden on June 4th" (the model's reckoning of
    "Dienstagabend" under an article of Wednesday 5 June) was withdrawn whole; the height was right."""
    reply = "The Elbe reached its peak of 6.45 meters on June 4th, 2024, in Dresden [1]."
    engine = engine_over(make_engine, ELBE, reply)
    answer = engine.ask("How high was the Elbe at its peak in Dresden?")
    assert not answer.abstained, answer.reason
    assert answer.answer == ("According to an article of 5 June 2024, the Elbe reached its peak of 6.45 meters in "
                             "Dresden [1].")


def test_fake_llm_invented_date_answering_when_is_withdrawn_not_cut(make_engine) -> None:  # type: ignore[no-untyped-def]
    engine = engine_over(make_engine, ELBE, "The Elbe peaked at 6.45 meters on June 4th [1].")
    answer = engine.ask("When did the Elbe reach its peak in Dresden?")
    assert answer.abstained and "numbers the articles do not give (4.0)" in answer.reason


def test_fake_llm_support_check_reads_the_number_with_the_passage_s_hedge(make_engine) -> None:  # type: ignore[no-untyped-def]
    """"La tasa de desempleo en Macedonia es de 20%" was refused (P 0.45) over "le taux de chômage dépasse
    les 20 %"; the reader would have been shown "más de 20%", which the check never read."""
    jobs = {"doc_id": "jobs", "lang": "fr", "title": "Macédoine : le référendum",
            "text": "Selon le Premier ministre Zaev, l'adhésion à l'OTAN permettra à la Macédoine de bénéficier "
                    "d'investissements nécessaires. Le taux de chômage dans le pays dépasse les 20 %."}

    def doubts_a_flat_figure(prompt: str) -> str:
        return "No" if "Statement:" in prompt and "more than" not in prompt else "Yes"

    engine = engine_over(make_engine, jobs, "The unemployment rate in Macedonia is 20% [1].",
                         verdict=doubts_a_flat_figure)
    answer = engine.ask("What is the unemployment rate in Macedonia?")
    assert not answer.abstained, answer.reason
    assert answer.answer == "The unemployment rate in Macedonia is more than 20% [1]."


@pytest.mark.parametrize(("reply", "question", "nothing"), [
    # seen over the sample: "une vingtaine de soldats" read as a "twin digit" number
    ('The United States intends to send a "twin digit" number of soldiers to Libya [1].',
     "How many American soldiers are in Libya?", True),
    ("Les États-Unis veulent envoyer des soldats [1].", "Combien de soldats les États-Unis enverront-ils ?", True),
    ("The United States intends to send about 20 soldiers [1].", "How many soldiers?", False),
    ("A few dozen soldiers [1].", "How many soldiers?", False),
    ("No soldiers have been sent yet [1].", "How many American soldiers are in Libya?", False),
    ("Ninguno [1].", "¿Cuántos soldados hay en Libia?", False),
    ("One person died [1].", "How many people died?", False),
    ("Fayez al-Serraj leads it [1].", "Who leads the unity government?", False),
])
def test_an_answer_to_how_many_without_a_number_counts_nothing(reply: str, question: str, nothing: bool) -> None:
    assert counts_nothing(reply, question) is nothing


def test_fake_llm_count_without_a_number_gets_one_look_at_the_judged_passage_alone(engine_with) -> None:  # type: ignore[no-untyped-def]
    def replies(prompt: str) -> str:  # misreads "une vingtaine" once a second excerpt is there
        return 'The United States will send a "twin digit" number of soldiers [1].' if "\n[2] " in prompt else \
            "The United States will send 20 soldiers [1]."

    answer = engine_with(reply=replies).ask("How many soldiers will the United States send to Libya?")
    assert not answer.abstained, answer.reason
    assert answer.answer == "The United States will send about 20 soldiers [1]."
    assert "twin digit" in answer.checks["withdrawn"]


def test_fake_llm_summary_as_a_numbered_list_keeps_its_items(make_engine) -> None:  # type: ignore[no-untyped-def]
    """"Résume l'article sur le tsunami" drew eight numbered facts; the numbers check read the markers
    "2." and "3." as numbers the article never gives and cut every item but a fragment."""
    reply = ("L'article résume les faits suivants :\n\n1. Plus de 800 personnes sont mortes [1].\n"
             "2. Un petit garçon a été retrouvé dans les égouts\n"
             "3. Une femme a été libérée après deux jours sous les ruines [1]")
    answer = engine_over(make_engine, TSUNAMI, reply).ask("Résume l'article sur le tsunami en Indonésie.")
    assert not answer.abstained, answer.reason
    assert answer.answer == ("L'article résume les faits suivants : Plus de 800 personnes sont mortes [1]. Un petit "
                             "garçon a été retrouvé dans les égouts. Une femme a été libérée après deux jours sous "
                             "les ruines [1].")


def test_fake_llm_sentence_cut_off_by_the_token_limit_is_left_out(make_engine) -> None:  # type: ignore[no-untyped-def]
    reply = "A little boy was found in the sewers [1]. The article stresses the tragedy caused"
    answer = engine_over(make_engine, TSUNAMI, reply).ask("Who was found in Palu?")
    assert answer.answer == "A little boy was found in the sewers [1]."


def test_fake_llm_sentence_said_twice_is_said_once(make_engine) -> None:  # type: ignore[no-untyped-def]
    """Seen over the samples: a summary of the Macedonian referendum gave two of its sentences twice."""
    reply = ("A boy was found in the sewers [1]. A woman was freed after two days [1]. "
             "A boy was found in the sewers. A woman was freed after two days [1].")
    answer = engine_over(make_engine, TSUNAMI, reply).ask("What did the rescuers in Palu find?")
    assert answer.answer == "A boy was found in the sewers [1]. A woman was freed after two days [1]."


@pytest.mark.parametrize(("answer", "after_the_date"), [
    # seen: "D'après un article du 2 octobre 2018, L'article sur le tsunami …"
    ("L'article résume les faits", "l'article résume les faits"),
    ("D’autres élèves sont piégés", "d’autres élèves sont piégés"),
    ("D'Alema a déclaré", "D'Alema a déclaré"),  # a name stays as it is
    # seen: "According to an article of 6 October 2018, Yes, Hamilton won the Russian Grand Prix."
    ("Yes, Hamilton won", "yes, Hamilton won"),
    ("Oui, Hamilton a gagné", "oui, Hamilton a gagné"),
    ("Norway won", "Norway won"),
    ("Fayez al-Serraj leads it", "Fayez al-Serraj leads it"),
])
def test_an_answer_reads_on_after_the_article_s_date(answer: str, after_the_date: str) -> None:
    assert lowered_after_prefix(answer) == after_the_date
