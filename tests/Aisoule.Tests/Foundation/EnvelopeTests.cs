using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Aisoule.Tests.Foundation;

public sealed class EnvelopeTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Unknown_route_answers_404_in_the_error_envelope()
    {
        var body = await Envelope.ErrorAsync(await _host.Client.GetAsync("no/such/thing"), HttpStatusCode.NotFound, "not_found");

        Assert.Contains("/api/no/such/thing", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Path_outside_the_api_prefix_answers_404_in_the_error_envelope()
    {
        var response = await _host.Client.GetAsync(new Uri(_host.Client.BaseAddress!, "/elsewhere"));

        await Envelope.ErrorAsync(response, HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Wrong_method_answers_405_with_the_allowed_methods()
    {
        using var content = Json("{}");
        var response = await _host.Client.PostAsync("health", content);

        await Envelope.ErrorAsync(response, HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        Assert.Equal(["GET"], response.Content.Headers.Allow);
    }

    [Fact]
    public async Task Wrong_method_on_a_parameterised_route_answers_405()
    {
        var response = await _host.Client.DeleteAsync("probe/items/42");

        await Envelope.ErrorAsync(response, HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        Assert.Equal(["GET"], response.Content.Headers.Allow);
    }

    [Fact]
    public async Task Route_values_reach_the_function_by_parameter_name()
    {
        var data = await Envelope.SuccessAsync(await _host.Client.GetAsync("probe/items/abc-42"));

        Assert.Equal("abc-42", data.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Sane_request_id_from_the_caller_is_echoed()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "health");
        request.Headers.Add("X-Request-Id", "crm-sync.2026-11-25:0001");

        var response = await _host.Client.SendAsync(request);

        Assert.Equal("crm-sync.2026-11-25:0001", response.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task Unsafe_request_id_from_the_caller_is_replaced()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "no/such/route");
        request.Headers.TryAddWithoutValidation("X-Request-Id", "<script>alert(1)</script>");

        var response = await _host.Client.SendAsync(request);

        var id = response.Headers.GetValues("X-Request-Id").Single();
        Assert.StartsWith("req_", id, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Valid_json_body_is_parsed_with_snake_case_names()
    {
        using var content = Json("""{"name":"Asha","age":31,"tags":["vip"]}""");

        var data = await Envelope.SuccessAsync(await _host.Client.PostAsync("probe/echo", content));

        Assert.Equal("Asha", data.GetProperty("name").GetString());
        Assert.Equal(31, data.GetProperty("age").GetInt32());
        Assert.Equal("vip", data.GetProperty("tags")[0].GetString());
    }

    [Fact]
    public async Task Malformed_json_answers_400_with_its_position()
    {
        using var content = Json("{\n  \"name\": \"Asha\",\n  \"age\": 31,,\n}");

        var body = await Envelope.ErrorAsync(await _host.Client.PostAsync("probe/echo", content), HttpStatusCode.BadRequest, "invalid_json");

        Assert.Contains("line 3", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_body_answers_400()
    {
        using var content = Json("");

        await Envelope.ErrorAsync(await _host.Client.PostAsync("probe/echo", content), HttpStatusCode.BadRequest, "invalid_json");
    }

    [Fact]
    public async Task Json_that_is_not_an_object_answers_400()
    {
        using var content = Json("[1,2,3]");

        await Envelope.ErrorAsync(await _host.Client.PostAsync("probe/echo", content), HttpStatusCode.BadRequest, "invalid_json");
    }

    [Fact]
    public async Task Unknown_field_answers_400_naming_the_field()
    {
        using var content = Json("""{"name":"Asha","nmae":"typo"}""");

        var body = await Envelope.ErrorAsync(await _host.Client.PostAsync("probe/echo", content), HttpStatusCode.BadRequest, "validation_failed");

        Assert.Equal("Unknown field.", body.GetProperty("errors").GetProperty("nmae")[0].GetString());
    }

    [Fact]
    public async Task Wrong_type_answers_400_naming_the_field()
    {
        using var content = Json("""{"name":"Asha","age":"thirty"}""");

        var body = await Envelope.ErrorAsync(await _host.Client.PostAsync("probe/echo", content), HttpStatusCode.BadRequest, "validation_failed");

        Assert.True(body.GetProperty("errors").TryGetProperty("age", out _), body.ToString());
    }

    [Fact]
    public async Task Declared_constraints_answer_400_with_every_field_error()
    {
        using var content = Json("""{"age":200}""");

        var body = await Envelope.ErrorAsync(await _host.Client.PostAsync("probe/echo", content), HttpStatusCode.BadRequest, "validation_failed");

        var errors = body.GetProperty("errors");
        Assert.Equal("Name is required.", errors.GetProperty("name")[0].GetString());
        Assert.Equal("Age must be between 0 and 150.", errors.GetProperty("age")[0].GetString());
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=iso-8859-1")]
    public async Task Body_that_is_not_utf8_json_answers_415(string contentType)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"name":"Asha"}"""));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        await Envelope.ErrorAsync(await _host.Client.PostAsync("probe/echo", content), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    [Fact]
    public async Task Body_over_5_MB_with_a_length_is_refused_with_413_before_the_function_runs()
    {
        var probe = Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Post, "probe/echo") { Content = Json(new string(' ', (5 * 1024 * 1024) + 1)) };
        request.Headers.Add("X-Probe", probe);

        var response = await _host.Client.SendAsync(request);

        await Envelope.ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        Assert.False(Probes.ProbeFunctions.EchoCalls.ContainsKey(probe), "the function ran on a refused body");
    }

    [Fact]
    public async Task Chunked_body_over_5_MB_is_refused_with_413()
    {
        using var content = new StreamContent(new UnsizedStream(6 * 1024 * 1024));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await _host.Client.PostAsync("probe/echo", content);

        await Envelope.ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
    }

    [Fact]
    public async Task Body_of_exactly_5_MB_is_accepted()
    {
        var padding = new string(' ', (5 * 1024 * 1024) - """{"name":"Asha"}""".Length);
        using var content = Json("""{"name":"Asha"}""" + padding);

        var data = await Envelope.SuccessAsync(await _host.Client.PostAsync("probe/echo", content));

        Assert.Equal("Asha", data.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Unhandled_exception_answers_500_without_its_text_and_is_logged_with_the_request_id()
    {
        var response = await _host.Client.GetAsync("probe/crash");

        var body = await Envelope.ErrorAsync(response, HttpStatusCode.InternalServerError, "internal_error");
        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        var text = body.ToString();
        Assert.DoesNotContain("secret-internal-detail", text, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
        Assert.Contains(requestId, body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(_host.Logs.Entries, e =>
            e.Level == LogLevel.Error && e.Exception is InvalidOperationException && e.Message.Contains(requestId, StringComparison.Ordinal));
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>A body of a given size that reports no length, so HttpClient sends it chunked.</summary>
    private sealed class UnsizedStream(long size) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, size - _position);
            Array.Fill(buffer, (byte)' ', offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
