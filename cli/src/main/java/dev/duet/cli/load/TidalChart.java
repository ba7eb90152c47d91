package dev.duet.cli.load;

import java.util.List;
import java.util.Locale;

/**
 * The SVG of a tidal benchmark: on top, the load over the day (offered rate, measured arrivals, the
 * planner's forecast), below it the prefill share of the instances, P / (P + D), for the planner
 * and for the best static ratio. Stateless.
 */
public final class TidalChart {
  private static final int W = 900;
  private static final int H = 220;
  private static final int PAD = 50;

  /**
   * One sample of the cluster during a run.
   *
   * @param atS seconds into the day
   * @param prefill prefill instances alive
   * @param decode decode instances alive
   * @param forecastRps the planner's last forecast of arrivals/s (NaN without a planner)
   */
  public record Point(double atS, int prefill, int decode, double forecastRps) {}

  private TidalChart() {}

  /** The chart as SVG text. */
  public static String svg(
      TidalDay day,
      List<TidalLoad.Request> requests,
      List<Point> planner,
      List<Point> bestStatic,
      String staticName) {
    double T = day.daySeconds();
    double maxRate = day.peakRate() * 1.3;
    StringBuilder s = new StringBuilder();
    s.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif'"
                + " font-size='12'>%n<rect width='100%%' height='100%%' fill='white'/>%n",
            W,
            2 * H + 40));
    // panel 1: load
    axes(s, 0, "requests/s (max " + fmt(maxRate) + ")", T);
    StringBuilder offered = new StringBuilder();
    for (int i = 0; i <= 200; i++) {
      double t = T * i / 200;
      offered.append(x(t, T)).append(',').append(y(day.rate(t), maxRate, 0)).append(' ');
    }
    line(s, offered, "#999", "offered");
    int buckets = 60;
    double[] counts = new double[buckets];
    for (TidalLoad.Request r : requests) {
      counts[Math.min(buckets - 1, (int) (r.atS() / T * buckets))]++;
    }
    StringBuilder measured = new StringBuilder();
    for (int b = 0; b < buckets; b++) {
      double t = (b + 0.5) * T / buckets;
      measured.append(x(t, T)).append(',').append(y(counts[b] / (T / buckets), maxRate, 0));
      measured.append(' ');
    }
    line(s, measured, "#1f77b4", "arrivals");
    StringBuilder forecast = new StringBuilder();
    for (Point p : planner) {
      if (!Double.isNaN(p.forecastRps())) {
        forecast.append(x(p.atS(), T)).append(',').append(y(p.forecastRps(), maxRate, 0));
        forecast.append(' ');
      }
    }
    line(s, forecast, "#d62728", "forecast");
    legend(
        s,
        0,
        new String[][] {
          {"#999", "offered"}, {"#1f77b4", "arrivals"}, {"#d62728", "planner forecast"}
        });
    // panel 2: P / (P + D)
    axes(s, H + 20, "prefill share P/(P+D)", T);
    line(s, share(planner, T), "#2ca02c", "planner");
    line(s, share(bestStatic, T), "#ff7f0e", staticName);
    legend(s, H + 20, new String[][] {{"#2ca02c", "planner"}, {"#ff7f0e", "static " + staticName}});
    s.append("</svg>\n");
    return s.toString();
  }

  private static StringBuilder share(List<Point> points, double T) {
    StringBuilder b = new StringBuilder();
    for (Point p : points) {
      int n = p.prefill() + p.decode();
      if (n > 0) {
        b.append(x(p.atS(), T)).append(',').append(y((double) p.prefill() / n, 1, H + 20));
        b.append(' ');
      }
    }
    return b;
  }

  private static void axes(StringBuilder s, int top, String label, double T) {
    s.append(
        String.format(
            Locale.ROOT,
            "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>"
                + "<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='black'/>%n"
                + "<text x='%d' y='%d'>%s</text><text x='%d' y='%d'>%s s</text>%n",
            PAD,
            top + 10,
            PAD,
            top + H - 20,
            PAD,
            top + H - 20,
            W - 10,
            top + H - 20,
            PAD + 4,
            top + 20,
            label,
            W - 60,
            top + H - 6,
            fmt(T)));
  }

  private static void line(StringBuilder s, StringBuilder points, String color, String name) {
    if (points.isEmpty()) {
      return;
    }
    s.append(
        String.format(
            "<polyline fill='none' stroke='%s' stroke-width='1.5' points='%s'><title>%s</title>"
                + "</polyline>%n",
            color, points.toString().trim(), name));
  }

  private static void legend(StringBuilder s, int top, String[][] items) {
    int x = W - 260;
    for (int i = 0; i < items.length; i++) {
      s.append(
          String.format(
              Locale.ROOT,
              "<rect x='%d' y='%d' width='12' height='3' fill='%s'/><text x='%d' y='%d'>%s</text>%n",
              x,
              top + 16 + 16 * i,
              items[i][0],
              x + 18,
              top + 21 + 16 * i,
              items[i][1]));
    }
  }

  private static String x(double t, double T) {
    return fmt(PAD + (W - PAD - 10) * t / T);
  }

  private static String y(double v, double max, int top) {
    return fmt(top + H - 20 - (H - 30) * Math.min(v, max) / max);
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }
}
