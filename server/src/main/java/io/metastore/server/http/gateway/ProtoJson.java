package io.metastore.server.http.gateway;

import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonStreamParser;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Messages as etcd's gateway writes and reads them: proto field names ({@code cluster_id}, {@code prev_kv},
 * {@code ID}), 64-bit integers as strings, bytes as base64, default values left out; on input both field-name
 * spellings ({@code range_end}, {@code rangeEnd}) are accepted and unknown fields ignored.
 */
final class ProtoJson {
    private static final JsonFormat.Printer PRINTER =
            JsonFormat.printer().preservingProtoFieldNames().omittingInsignificantWhitespace();
    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

    private ProtoJson() {}

    static String print(MessageOrBuilder message) {
        try {
            return PRINTER.print(message);
        } catch (InvalidProtocolBufferException e) {
            // only Any fields with unknown types fail to print; etcd's messages have none
            throw new IllegalStateException("cannot print " + message.getClass().getSimpleName(), e);
        }
    }

    /**
     * Every JSON value in the body, in order, as a request. etcd's gateway decodes a stream's body as a
     * sequence of objects ({@code {"ID":"1"}{"ID":"2"}} are two keep-alives); for a unary call it uses the
     * first. An empty body is no value: an empty message for unary calls, no request for streams.
     *
     * @throws MalformedBody when a value is not JSON or does not fit the message
     */
    static List<Message> parseAll(byte[] body, Message prototype) {
        List<Message> out = new ArrayList<>();
        String text = new String(body, StandardCharsets.UTF_8);
        if (text.isBlank()) {
            return out;
        }
        try {
            JsonStreamParser values = new JsonStreamParser(text);
            while (values.hasNext()) {
                JsonElement value = values.next();
                Message.Builder b = prototype.newBuilderForType();
                PARSER.merge(value.toString(), b);
                out.add(b.build());
            }
        } catch (JsonParseException | InvalidProtocolBufferException e) {
            throw new MalformedBody(e.getMessage());
        }
        return out;
    }

    /** A request body that is not the request message as JSON (etcd: 400, InvalidArgument). */
    static final class MalformedBody extends RuntimeException {
        MalformedBody(String message) {
            super(message == null ? "malformed JSON body" : message, null, false, false);
        }
    }
}
