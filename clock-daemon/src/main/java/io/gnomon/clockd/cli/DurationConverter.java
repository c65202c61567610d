package io.gnomon.clockd.cli;

import io.gnomon.truetime.testing.FaultScript;
import picocli.CommandLine;

import java.time.Duration;

/** Durations on the command line: a number and a unit, as in {@code 30s}, {@code 1ms}, {@code 500us}, {@code 1.5m}. */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
        try {
            return Duration.ofNanos(FaultScript.parseNanos(value));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
