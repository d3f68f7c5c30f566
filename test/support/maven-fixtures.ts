/**
 * A Maven service for the local fleet's tests, served by the stack's git server on a default branch that is not
 * `main`: JUnit 5 through Surefire, a real dependency on org.apache.commons:commons-lang3 whose version is a
 * `<properties>` entry, and a break on upgrade that a `replace` step fixes.
 */
import type { Target } from '../../src/contracts';
import { createRepo } from '../../src/dev/fleet';
import { readStackInfo } from './stack';

export const MAVEN_DEFAULT_BRANCH = 'trunk';

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

/** A fresh repository holding the Maven service, on branch `trunk`, as a campaign target. */
export async function mavenRepo(name: string, files: Record<string, string>, owner = 'platform'): Promise<Target> {
  const stack = readStackInfo();
  await createRepo(stack.fleetRoot, name, files, { branch: MAVEN_DEFAULT_BRANCH });
  return { repo: name, url: `${stack.gitBaseUrl}/${name}.git`, ref: MAVEN_DEFAULT_BRANCH, owner };
}
