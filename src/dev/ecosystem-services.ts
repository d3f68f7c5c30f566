/**
 * The local fleet's services of other ecosystems than npm: a Go service (go test), a Python service (pytest) and a
 * Maven project (JUnit through Surefire). Each has a real dependency the registry holds and a test suite of its own,
 * and a newer version of that dependency breaks something small that a `replace` step fixes.
 */

/** go.sum lines of github.com/google/uuid, as `go mod tidy` writes them (content hashes from the checksum database). */
const UUID_SUMS: Record<string, string> = {
  'v1.4.0': [
    'github.com/google/uuid v1.4.0 h1:MtMxsa51/r9yyhkyLsVeVt0B+BGQZzpQiTQ4eHZ8bc4=',
    'github.com/google/uuid v1.4.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=',
  ].join('\n'),
  'v1.5.0': [
    'github.com/google/uuid v1.5.0 h1:1p67kYwdtXjb0gL0BPiP1Av9wiZPo5A8z2cWkTZ+eyU=',
    'github.com/google/uuid v1.5.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=',
  ].join('\n'),
};

/**
 * A Go service on github.com/google/uuid `uuidVersion`. It dot-imports uuid and declares its own `Validate`, which
 * uuid v1.5.0 also declares: the upgrade fails to compile until `Validate(` is renamed.
 */
export function goServiceFiles(uuidVersion: 'v1.4.0' | 'v1.5.0', goLine = '1.26'): Record<string, string> {
  return {
    'go.mod': `module example.com/acme/inventory\n\ngo ${goLine}\n\nrequire github.com/google/uuid ${uuidVersion}\n`,
    'go.sum': `${UUID_SUMS[uuidVersion]}\n`,
    'main.go': [
      'package main',
      '',
      'import (',
      '\t"fmt"',
      '',
      '\t. "github.com/google/uuid"',
      ')',
      '',
      '// Validate reports whether id is an identifier the inventory accepts.',
      'func Validate(id string) error {',
      '\t_, err := Parse(id)',
      '\treturn err',
      '}',
      '',
      'func main() {',
      '\tfmt.Println(New().String())',
      '}',
      '',
    ].join('\n'),
    'main_test.go': [
      'package main',
      '',
      'import (',
      '\t"testing"',
      '',
      '\t. "github.com/google/uuid"',
      ')',
      '',
      'func TestValidateAcceptsANewID(t *testing.T) {',
      '\tif err := Validate(New().String()); err != nil {',
      '\t\tt.Fatalf("a new id was refused: %v", err)',
      '\t}',
      '}',
      '',
      'func TestValidateRefusesGarbage(t *testing.T) {',
      '\tif err := Validate("not-an-id"); err == nil {',
      '\t\tt.Fatal("garbage was accepted")',
      '\t}',
      '}',
      '',
    ].join('\n'),
  };
}

/**
 * A Python service on semver `version` (requirements.txt pins it, pyproject.toml gives a range), tested with pytest.
 * It calls `VersionInfo.isvalid`, which semver 3 renamed `is_valid`: the upgrade fails its tests until that is renamed.
 */
export function pythonServiceFiles(version: '2.13.0' | '3.0.4'): Record<string, string> {
  const major = version.split('.')[0];
  return {
    'requirements.txt': `# the pricing service's runtime dependencies\nsemver==${version}  # release tags\n`,
    'pyproject.toml': [
      '[project]',
      'name = "pricing"',
      'version = "1.0.0"',
      'requires-python = ">=3.9"',
      'dependencies = [',
      `    "semver>=${version},<${Number(major) + 2}",`,
      ']',
      '',
      '[tool.pytest.ini_options]',
      'testpaths = ["tests"]',
      '',
    ].join('\n'),
    '.gitignore': ['.venv/', '__pycache__/', '.pytest_cache/', 'test-results/', ''].join('\n'),
    'pricing/__init__.py': '',
    'pricing/release.py': [
      'import semver',
      '',
      '',
      'def is_release_tag(tag: str) -> bool:',
      '    """Whether a git tag names a release the price list may ship with."""',
      `    return semver.VersionInfo.${major === '2' ? 'isvalid' : 'is_valid'}(tag.lstrip("v"))`,
      '',
    ].join('\n'),
    'tests/test_release.py': [
      'from pricing.release import is_release_tag',
      '',
      '',
      'def test_a_semver_tag_is_a_release():',
      '    assert is_release_tag("v1.2.3")',
      '',
      '',
      'def test_a_nightly_tag_is_not():',
      '    assert not is_release_tag("nightly")',
      '',
    ].join('\n'),
  };
}

/**
 * pom.xml on commons-lang3 `lang3Version` (through the `commons-lang3.version` property) for Java `javaRelease`.
 * Greeter imports both `com.acme.text.*` (its own `Strings`) and `org.apache.commons.lang3.*`; commons-lang3 3.18.0
 * adds `org.apache.commons.lang3.Strings`, so after the upgrade `Strings` is ambiguous and the build fails until the
 * on-demand import of its own package names the class (`import com.acme.text.Strings;`).
 */
export function mavenPom(lang3Version: string, javaRelease = '17'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>

  <groupId>com.acme</groupId>
  <artifactId>greeter</artifactId>
  <version>1.0.0-SNAPSHOT</version>

  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
    <maven.compiler.release>${javaRelease}</maven.compiler.release>
    <!-- the text helpers -->
    <commons-lang3.version>${lang3Version}</commons-lang3.version>
    <junit.version>5.14.1</junit.version>
  </properties>

  <dependencies>
    <dependency>
      <groupId>org.apache.commons</groupId>
      <artifactId>commons-lang3</artifactId>
      <version>\${commons-lang3.version}</version>
    </dependency>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>\${junit.version}</version>
      <scope>test</scope>
    </dependency>
  </dependencies>

  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <artifactId>maven-resources-plugin</artifactId>
          <version>3.3.1</version>
        </plugin>
        <plugin>
          <artifactId>maven-compiler-plugin</artifactId>
          <version>3.14.0</version>
        </plugin>
        <plugin>
          <artifactId>maven-surefire-plugin</artifactId>
          <version>3.5.4</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
`;
}

export function mavenServiceFiles(lang3Version: string, javaRelease = '17'): Record<string, string> {
  return {
    'pom.xml': mavenPom(lang3Version, javaRelease),
    '.gitignore': 'target/\n',
    'src/main/java/com/acme/text/Strings.java': [
      'package com.acme.text;',
      '',
      "/** The greeter's own text helpers. */",
      'public final class Strings {',
      '  private Strings() {}',
      '',
      '  public static String shout(String text) {',
      '    return text.toUpperCase() + "!";',
      '  }',
      '}',
      '',
    ].join('\n'),
    'src/main/java/com/acme/greeter/Greeter.java': [
      'package com.acme.greeter;',
      '',
      'import com.acme.text.*;',
      'import org.apache.commons.lang3.*;',
      '',
      'public final class Greeter {',
      '  private Greeter() {}',
      '',
      '  public static String greet(String name) {',
      '    String who = StringUtils.isBlank(name) ? "world" : StringUtils.capitalize(name.trim());',
      '    return Strings.shout("hello " + who);',
      '  }',
      '}',
      '',
    ].join('\n'),
    'src/test/java/com/acme/greeter/GreeterTest.java': [
      'package com.acme.greeter;',
      '',
      'import static org.junit.jupiter.api.Assertions.assertEquals;',
      '',
      'import org.junit.jupiter.api.Test;',
      '',
      'class GreeterTest {',
      '  @Test',
      '  void greetsByName() {',
      '    assertEquals("HELLO ADA!", Greeter.greet("ada"));',
      '  }',
      '',
      '  @Test',
      '  void greetsTheWorldWhenNoNameIsGiven() {',
      '    assertEquals("HELLO WORLD!", Greeter.greet("  "));',
      '  }',
      '}',
      '',
    ].join('\n'),
  };
}
