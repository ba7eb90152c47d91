package dev.duet.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.Locale;

/**
 * The global functions that Hugging Face's chat-template environment gives templates, for Jinjava:
 * {@code raise_exception(message)} and {@code strftime_now(format)}. Public only because Jinjava
 * calls them by reflection; not an API.
 *
 * <p>Threading: stateless; {@code strftime_now} reads the clock of the render in progress on the
 * calling thread.
 */
public final class JinjaFunctions {

  /**
   * Context key of the render's {@link Clock}; not a Jinja identifier, so templates cannot see it.
   */
  static final String CLOCK_KEY = "duet.chat.clock";

  private JinjaFunctions() {}

  /** What {@code raise_exception} throws; {@link ChatTemplate} turns it into its own exception. */
  static final class TemplateRaised extends RuntimeException {
    TemplateRaised(String message) {
      super(message, null, false, false);
    }
  }

  /** {@code raise_exception(message)}: the template refuses the conversation. */
  public static Object raiseException(Object message) {
    throw new TemplateRaised(String.valueOf(message));
  }

  /** {@code strftime_now(format)}: the render's current time, Python {@code strftime} style. */
  public static String strftimeNow(String format) {
    Clock clock =
        JinjavaInterpreter.getCurrentMaybe()
            .map(i -> i.getContext().get(CLOCK_KEY))
            .filter(Clock.class::isInstance)
            .map(Clock.class::cast)
            .orElseGet(Clock::systemDefaultZone);
    return StrftimeFormatter.format(ZonedDateTime.now(clock), format, Locale.ROOT);
  }
}
