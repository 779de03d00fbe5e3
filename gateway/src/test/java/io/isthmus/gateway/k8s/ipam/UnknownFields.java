package io.isthmus.gateway.k8s.ipam;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The fields fabric8's model did not know. Its models keep an unknown field in {@code additionalProperties} instead of
 * failing, so a misspelt or misplaced manifest field would parse and then be ignored by the API server's strict
 * decoding or, worse, silently dropped: this walks a parsed object and lists every such field by its path.
 */
final class UnknownFields {
    private UnknownFields() {
    }

    static List<String> in(Object model) {
        List<String> found = new ArrayList<>();
        walk(model, "", found);
        return found;
    }

    private static void walk(Object value, String path, List<String> found) {
        switch (value) {
            case null -> { }
            case Collection<?> items -> {
                int index = 0;
                for (Object item : items) {
                    walk(item, path + "[" + index++ + "]", found);
                }
            }
            case Map<?, ?> entries -> entries.forEach((key, item) -> walk(item, path + "[" + key + "]", found));
            default -> {
                if (value.getClass().getPackageName().startsWith("io.fabric8.kubernetes.api.model")) {
                    walkModel(value, path, found);
                }
            }
        }
    }

    private static void walkModel(Object model, String path, List<String> found) {
        for (Method getter : model.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || Modifier.isStatic(getter.getModifiers())
                    || getter.getDeclaringClass() == Object.class || !getter.getName().startsWith("get")) {
                continue;
            }
            Object value;
            try {
                value = getter.invoke(model);
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new AssertionError("cannot read " + path + " through " + getter, e);
            }
            if (getter.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> unknown) {
                    unknown.keySet().forEach(key -> found.add(path + "." + key));
                }
                continue;
            }
            String name = getter.getName().substring(3);
            walk(value, path + "." + Character.toLowerCase(name.charAt(0)) + name.substring(1), found);
        }
    }
}
