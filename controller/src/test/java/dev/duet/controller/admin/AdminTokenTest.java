package dev.duet.controller.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.controller.admin.AdminToken.Verdict;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AdminTokenTest {

  private final AdminToken token = AdminToken.of("s3cret-token-0123456789");

  @Test
  void onlyTheRightBearerTokenPasses() {
    assertThat(token.check("Bearer s3cret-token-0123456789")).isEqualTo(Verdict.OK);
    assertThat(token.check("bearer  s3cret-token-0123456789 ")).isEqualTo(Verdict.OK);
    assertThat(token.check("Bearer s3cret-token-012345678")).isEqualTo(Verdict.WRONG);
    assertThat(token.check("Bearer s3cret-token-0123456789x")).isEqualTo(Verdict.WRONG);
    assertThat(token.check("Bearer x")).isEqualTo(Verdict.WRONG);
  }

  @Test
  void aMissingOrNonBearerHeaderIsMissingNotWrong() {
    assertThat(token.check(null)).isEqualTo(Verdict.MISSING);
    assertThat(token.check("")).isEqualTo(Verdict.MISSING);
    assertThat(token.check("Bearer ")).isEqualTo(Verdict.MISSING);
    assertThat(token.check("Basic dXNlcjpwYXNz")).isEqualTo(Verdict.MISSING);
    assertThat(token.check("s3cret-token-0123456789")).isEqualTo(Verdict.MISSING);
  }

  @Test
  void shortOrUnprintableTokensAreRefusedWithTheReason() {
    assertThatThrownBy(() -> AdminToken.of("short")).hasMessageContaining("at least 16");
    assertThatThrownBy(() -> AdminToken.of("has a space in it!!")).hasMessageContaining("U+0020");
    assertThatThrownBy(() -> AdminToken.of(null)).hasMessageContaining("none");
  }

  @Test
  void generatedTokensAreValidDistinctAndNeverPrintedByToString() {
    SplittableRandom random = new SplittableRandom(1);
    AdminToken a = AdminToken.generate(random);
    AdminToken b = AdminToken.generate(random);
    assertThat(a.reveal()).startsWith("duet_").hasSize(5 + 43).isNotEqualTo(b.reveal());
    assertThat(AdminToken.of(a.reveal()).check("Bearer " + a.reveal())).isEqualTo(Verdict.OK);
    assertThat(a.toString()).doesNotContain(a.reveal());
  }
}
