# Sourced by every script: picks Java 25 (Temurin beside the machine's default Java 17) and exports JAVA_HOME.
# Honours a JAVA_HOME that already points at Java 25 or newer.
isthmus_java_ok() {
  [[ -x "$1/bin/java" ]] && "$1/bin/java" -version 2>&1 | head -1 | grep -Eq '"(2[5-9]|[3-9][0-9])[".]'
}
if [[ -z "${JAVA_HOME:-}" ]] || ! isthmus_java_ok "$JAVA_HOME"; then
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk /usr/lib/jvm/java-25-openjdk-amd64 /usr/lib/jvm/*25*; do
    if isthmus_java_ok "$candidate"; then
      export JAVA_HOME="$candidate"
      break
    fi
  done
fi
if [[ -z "${JAVA_HOME:-}" ]] || ! isthmus_java_ok "$JAVA_HOME"; then
  echo "isthmus: needs Java 25 (Temurin 25 under /usr/lib/jvm, or JAVA_HOME pointing at a JDK 25)" >&2
  exit 1
fi
export PATH="$JAVA_HOME/bin:$PATH"
