package dev.mha2mla.eval;

import dev.mha2mla.io.RunInfo;
import java.util.List;

/**
 * The result of scoring a model on a dataset, written as JSON by {@code mha2mla evaluate}.
 *
 * @param wer corpus word error rate: all word errors / all reference words
 * @param werCi95 the 95% confidence interval of {@code wer} by the bootstrap over utterances ({@link Bootstrap})
 * @param cer corpus character error rate: all character errors / all reference characters (spaces included)
 * @param words summed word alignment counts
 * @param characters summed character alignment counts
 * @param audioSeconds total length of the audio scored
 * @param recognitionSeconds wall time inside the model (feature extraction, network, CTC decoding)
 * @param wallSeconds wall time of the whole loop, audio decoding included
 * @param realTimeFactor recognitionSeconds / audioSeconds: below 1 is faster than real time
 * @param outOfVocabulary reference words outside the model's training words, or null where its folder records none
 * @param worst the utterances with the most word errors, most first (ties: higher WER, then id)
 * @param utterances every utterance, in dataset order
 */
public record EvaluationReport(
    String model,
    String dataset,
    String device,
    int batchSize,
    String decoding,
    int utteranceCount,
    double wer,
    Bootstrap.Interval werCi95,
    double cer,
    EditCounts words,
    EditCounts characters,
    double audioSeconds,
    double recognitionSeconds,
    double wallSeconds,
    double realTimeFactor,
    OutOfVocabulary outOfVocabulary,
    List<UtteranceScore> worst,
    List<UtteranceScore> utterances,
    RunInfo run) {}
