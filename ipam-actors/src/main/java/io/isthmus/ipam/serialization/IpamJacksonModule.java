package io.isthmus.ipam.serialization;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import io.isthmus.api.Cidr;

import java.io.IOException;

/** Jackson support for the api value types that have no Jackson annotations: {@link Cidr} as {@code 10.8.0.0/16}. */
public final class IpamJacksonModule extends SimpleModule {
    public IpamJacksonModule() {
        super("IpamJacksonModule");
        addSerializer(Cidr.class, new JsonSerializer<>() {
            @Override
            public void serialize(Cidr value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
                gen.writeString(value.toString());
            }
        });
        addDeserializer(Cidr.class, new JsonDeserializer<>() {
            @Override
            public Cidr deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                return Cidr.parse("cidr", p.getValueAsString());
            }
        });
    }
}
