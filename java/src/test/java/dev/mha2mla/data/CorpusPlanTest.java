package dev.mha2mla.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.data.synth.ClosedVocabulary;
import dev.mha2mla.data.synth.CorpusPlan;
import dev.mha2mla.data.synth.Splits;
import dev.mha2mla.data.synth.SyntheticUtterance;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a seed decides about a synthetic corpus, before any audio is rendered. */
class CorpusPlanTest {
  @Test
  void sameSeedSamePlanOtherSeedOtherPlan() {
    CorpusPlan a = CorpusPlan.create(7, 50, 400, Splits.parse("0.8,0.1,0.1"));
    CorpusPlan b = CorpusPlan.create(7, 50, 400, Splits.parse("0.8,0.1,0.1"));
    CorpusPlan c = CorpusPlan.create(8, 50, 400, Splits.parse("0.8,0.1,0.1"));

    assertThat(a).isEqualTo(b);
    assertThat(a.utterances()).isNotEqualTo(c.utterances());
  }

  @Test
  void splitsShareNoSentenceAndIdsAreUnique() {
    CorpusPlan plan = CorpusPlan.create(1, 300, 100, Splits.parse("0.8,0.1,0.1"));

    Set<String> ids = new HashSet<>();
    Set<String> sentences = new HashSet<>();
    for (SyntheticUtterance u : plan.utterances()) {
      assertThat(ids.add(u.id())).isTrue();
      assertThat(sentences.add(u.transcript())).as("sentence spoken twice: %s", u.transcript()).isTrue();
      assertThat(u.id()).matches(u.voice().speaker() + "-" + u.chapter() + "-\\d{4}");
      assertThat(u.wordsPerMinute()).isBetween(130, 200);
      assertThat(u.pitch()).isBetween(30, 70);
      String[] words = u.transcript().split(" ");
      assertThat(words.length).isBetween(4, 12);
      assertThat(plan.vocabulary()).contains(words);
      assertThat(TextNormalizer.normalize(u.transcript()).text()).isEqualTo(u.transcript());
    }
    assertThat(plan.split("train")).hasSize(240);
    assertThat(plan.split("validation")).hasSize(30);
    assertThat(plan.split("test")).hasSize(30);
  }

  @Test
  void smallCorporaStillGetEveryRequestedSplit() {
    assertThat(Splits.parse("0.8,0.1,0.1").allocate(6)).containsExactly(4, 1, 1);
    assertThat(Splits.parse("0.8,0.1,0.1").allocate(1000)).containsExactly(800, 100, 100);
    assertThat(Splits.parse("1,0,0").allocate(5)).containsExactly(5, 0, 0);
    assertThat(Splits.parse("0.5,0.5,0").allocate(3)).containsExactly(2, 1, 0);
    assertThat(Splits.parse("0.8,0.1,0.1").allocate(2)).containsExactly(1, 1, 0);
  }

  @Test
  void badOptionsAreClearErrors() {
    assertThatThrownBy(() -> Splits.parse("0.8,0.1")).hasMessageContaining("three fractions");
    assertThatThrownBy(() -> Splits.parse("0.8,0.3,0.1")).hasMessageContaining("add up to 1");
    assertThatThrownBy(() -> CorpusPlan.create(1, 0, 400, Splits.parse("1,0,0"))).hasMessageContaining("--count");
    assertThatThrownBy(() -> CorpusPlan.create(1, 5, 401, Splits.parse("1,0,0"))).hasMessageContaining("between 2 and 400");
  }

  @Test
  void embeddedVocabularyIsInTheModelsAlphabetMostFrequentFirst() {
    ClosedVocabulary v = ClosedVocabulary.embedded();
    assertThat(v.size()).isEqualTo(400);
    assertThat(v.words().subList(0, 3)).isEqualTo(List.of("THE", "A", "YOU"));
    assertThat(v.words()).allMatch(w -> w.matches("[A-Z']+")).doesNotHaveDuplicates();
    for (int i = 1; i < v.size(); i++) assertThat(v.counts().get(i)).isLessThanOrEqualTo(v.counts().get(i - 1));
  }
}
