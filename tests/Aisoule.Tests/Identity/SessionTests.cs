using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Identity;

public sealed class SessionTests : IAsyncLifetime
{
    private TestHost _host = null!;

    // These tests stand behind a proxy on loopback, which names each client address in X-Forwarded-For.
    public async Task InitializeAsync() => _host = await TestHost.StartAsync(new Dictionary<string, string?> { ["LocalHost:TrustedProxies"] = "127.0.0.1" });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Signup_creates_a_workspace_and_its_owner_and_starts_a_session()
    {
        var email = Infrastructure.Identity.NewEmail();
        var response = await _host.Client.PostAsJsonAsync("auth/signup", new { email, password = Infrastructure.Identity.Password, name = "Asha Rao", workspace_name = "Acme Traders" });

        var data = await Envelope.SuccessAsync(response, HttpStatusCode.Created);
        Assert.Equal(email, data.GetProperty("user").GetProperty("email").GetString());
        Assert.Equal("owner", data.GetProperty("user").GetProperty("role").GetString());
        Assert.Equal("Acme Traders", data.GetProperty("workspace").GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(data.GetProperty("csrf_token").GetString()));
        var cookie = response.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        var me = await Envelope.SuccessAsync(await _host.Client.SendAsync(Infrastructure.Identity.WithCookie(HttpMethod.Get, "auth/me", cookie)));
        Assert.Equal(data.GetProperty("workspace").GetProperty("id").GetString(), me.GetProperty("workspace").GetProperty("id").GetString());
        Assert.Equal("owner", me.GetProperty("role").GetString());
    }

    [Fact]
    public async Task Signup_with_an_email_already_registered_answers_409_whatever_its_case()
    {
        var first = await Infrastructure.Identity.SignUpAsync(_host);

        var response = await _host.Client.PostAsJsonAsync("auth/signup", new { email = first.Email.ToUpperInvariant(), password = "another password", name = "B", workspace_name = "B" });

        await Envelope.ErrorAsync(response, HttpStatusCode.Conflict, "email_taken");
    }

    [Fact]
    public async Task Signup_is_refused_when_turned_off()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["Identity:SignupEnabled"] = "false" });

        var response = await host.Client.PostAsJsonAsync("auth/signup", new { email = Infrastructure.Identity.NewEmail(), password = Infrastructure.Identity.Password, name = "A", workspace_name = "A" });

        await Envelope.ErrorAsync(response, HttpStatusCode.Forbidden, "signup_disabled");
    }

    [Fact]
    public async Task Signup_is_off_by_default_outside_development()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["Identity:SignupEnabled"] = null });

        var response = await host.Client.PostAsJsonAsync("auth/signup", new { email = Infrastructure.Identity.NewEmail(), password = Infrastructure.Identity.Password, name = "A", workspace_name = "A" });

        await Envelope.ErrorAsync(response, HttpStatusCode.Forbidden, "signup_disabled");
    }

    [Fact]
    public async Task Login_sets_an_httponly_samesite_lax_session_cookie_and_returns_a_csrf_token()
    {
        var account = await Infrastructure.Identity.SignUpAsync(_host);

        var response = await _host.Client.PostAsJsonAsync("auth/login", new { email = account.Email, password = account.Password });

        var data = await Envelope.SuccessAsync(response);
        Assert.False(string.IsNullOrEmpty(data.GetProperty("csrf_token").GetString()));
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("aisoule_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Session_cookie_is_secure_when_the_request_came_over_https()
    {
        var account = await Infrastructure.Identity.SignUpAsync(_host);
        using var request = new HttpRequestMessage(HttpMethod.Post, "auth/login") { Content = JsonContent.Create(new { email = account.Email, password = account.Password }) };
        request.Headers.Add("X-Forwarded-Proto", "https");

        var response = await _host.Client.SendAsync(request);

        await Envelope.SuccessAsync(response);
        Assert.Contains("secure", response.Headers.GetValues("Set-Cookie").Single(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Unknown_email_and_wrong_password_answer_identically_in_similar_time()
    {
        var account = await Infrastructure.Identity.SignUpAsync(_host);

        // Best of three, alternating, so a busy machine (tests run in parallel) does not decide the comparison.
        HttpResponseMessage wrongPassword = null!, unknownEmail = null!;
        double wrongPasswordTime = double.MaxValue, unknownEmailTime = double.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var (w, wt) = await TimedLoginAsync(account.Email, "not the password", "10.0.1." + round);
            var (u, ut) = await TimedLoginAsync(Infrastructure.Identity.NewEmail(), "not the password", "10.0.2." + round);
            (wrongPassword, unknownEmail) = (w, u);
            (wrongPasswordTime, unknownEmailTime) = (Math.Min(wrongPasswordTime, wt), Math.Min(unknownEmailTime, ut));
        }

        Assert.Equal(HttpStatusCode.Unauthorized, wrongPassword.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unknownEmail.StatusCode);
        Assert.Equal(await wrongPassword.Content.ReadAsStringAsync(), await unknownEmail.Content.ReadAsStringAsync());
        // Both pay for a full password hash; an unknown email must not answer noticeably faster.
        Assert.True(unknownEmailTime > wrongPasswordTime * 0.5, $"unknown email {unknownEmailTime} ms vs wrong password {wrongPasswordTime} ms");
    }

    [Fact]
    public async Task Fifth_failed_login_for_an_email_locks_it_with_429_and_retry_after_even_for_the_right_password()
    {
        var account = await Infrastructure.Identity.SignUpAsync(_host);
        for (var i = 0; i < 5; i++)
        {
            await Envelope.ErrorAsync(await LoginFromAsync(account.Email, "wrong password", $"10.1.0.{i}"), HttpStatusCode.Unauthorized, "invalid_credentials");
        }

        var response = await LoginFromAsync(account.Email, account.Password, "10.1.0.99");

        var body = await Envelope.ErrorAsync(response, HttpStatusCode.TooManyRequests, "too_many_attempts");
        Assert.InRange(response.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 800, 900);
        Assert.Contains("Try again in", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parallel_guesses_for_one_email_get_at_most_five_password_checks_and_never_a_500()
    {
        var account = await Infrastructure.Identity.SignUpAsync(_host);

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => LoginFromAsync(account.Email, $"guess {i}", $"10.4.{i}.1")));

        var statuses = responses.Select(r => r.StatusCode).ToList();
        Assert.True(statuses.Count(s => s == HttpStatusCode.Unauthorized) <= 5, string.Join(",", statuses));
        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.Unauthorized or HttpStatusCode.TooManyRequests, s.ToString()));
        await Envelope.ErrorAsync(await LoginFromAsync(account.Email, account.Password, "10.4.99.1"), HttpStatusCode.TooManyRequests, "too_many_attempts");
    }

    [Fact]
    public async Task Failed_logins_from_one_address_are_throttled_across_emails()
    {
        for (var i = 0; i < 5; i++)
        {
            await LoginFromAsync(Infrastructure.Identity.NewEmail(), "wrong password", "10.2.0.7");
        }

        var response = await LoginFromAsync(Infrastructure.Identity.NewEmail(), "wrong password", "10.2.0.7");

        await Envelope.ErrorAsync(response, HttpStatusCode.TooManyRequests, "too_many_attempts");
    }

    [Fact]
    public async Task Successful_login_clears_the_failures_for_that_email()
    {
        var account = await Infrastructure.Identity.SignUpAsync(_host);
        for (var i = 0; i < 4; i++)
        {
            await LoginFromAsync(account.Email, "wrong password", $"10.3.0.{i}");
        }

        await Envelope.SuccessAsync(await LoginFromAsync(account.Email, account.Password, "10.3.1.1"));
        await LoginFromAsync(account.Email, "wrong password", "10.3.1.2");

        await Envelope.SuccessAsync(await LoginFromAsync(account.Email, account.Password, "10.3.1.3"));
    }

    [Fact]
    public async Task Twenty_successful_logins_in_a_row_from_one_address_all_answer_200()
    {
        var account = await Infrastructure.Identity.SignUpAsync(_host);

        for (var i = 0; i < 20; i++)
        {
            await Envelope.SuccessAsync(await LoginFromAsync(account.Email, account.Password, "10.5.0.1"));
        }
    }

    [Fact]
    public async Task Twelve_parallel_successful_logins_to_one_account_from_one_address_all_answer_200()
    {
        var account = await Infrastructure.Identity.SignUpAsync(_host);

        // More at once than the failure limit: those beyond it wait for the ones being checked, none is refused.
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => LoginFromAsync(account.Email, account.Password, "10.7.0.1")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        await Envelope.SuccessAsync(await LoginFromAsync(account.Email, account.Password, "10.7.0.1"));
    }

    [Fact]
    public async Task Successful_login_between_failures_from_one_address_is_let_in_and_does_not_count_as_a_failure()
    {
        var account = await Infrastructure.Identity.SignUpAsync(_host);
        for (var i = 0; i < 4; i++)
        {
            await Envelope.ErrorAsync(await LoginFromAsync(Infrastructure.Identity.NewEmail(), "wrong password", "10.6.0.1"), HttpStatusCode.Unauthorized, "invalid_credentials");
        }

        await Envelope.SuccessAsync(await LoginFromAsync(account.Email, account.Password, "10.6.0.1"));

        // The address's four failures still stand (a success with one account does not wipe guesses at others): one more is the fifth.
        await Envelope.ErrorAsync(await LoginFromAsync(Infrastructure.Identity.NewEmail(), "wrong password", "10.6.0.1"), HttpStatusCode.Unauthorized, "invalid_credentials");
        await Envelope.ErrorAsync(await LoginFromAsync(account.Email, account.Password, "10.6.0.1"), HttpStatusCode.TooManyRequests, "too_many_attempts");
    }

    [Fact]
    public async Task Attempts_refused_for_a_locked_address_do_not_count_against_the_email()
    {
        var account = await Infrastructure.Identity.SignUpAsync(_host);
        for (var i = 0; i < 5; i++)
        {
            await LoginFromAsync(Infrastructure.Identity.NewEmail(), "wrong password", "10.7.0.1");
        }

        for (var i = 0; i < 5; i++)
        {
            await Envelope.ErrorAsync(await LoginFromAsync(account.Email, "wrong password", "10.7.0.1"), HttpStatusCode.TooManyRequests, "too_many_attempts");
        }

        await Envelope.SuccessAsync(await LoginFromAsync(account.Email, account.Password, "10.7.0.2"));
    }

    [Fact]
    public async Task Logout_ends_the_session_on_every_instance()
    {
        await using var other = await TestHost.StartAsync(prefix: _host.Prefix);
        var account = await Infrastructure.Identity.SignUpAsync(_host);
        var onOther = account with { Client = other.Client };
        await Envelope.SuccessAsync(await onOther.GetAsync("auth/me"));

        await Envelope.SuccessAsync(await account.SendAsync(HttpMethod.Post, "auth/logout"));

        await Envelope.ErrorAsync(await onOther.GetAsync("auth/me"), HttpStatusCode.Unauthorized, "session_expired");
        await Envelope.ErrorAsync(await account.GetAsync("auth/me"), HttpStatusCode.Unauthorized, "session_expired");
    }

    [Fact]
    public async Task Session_expires_after_being_idle()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["Identity:SessionIdleTimeout"] = "00:00:01" });
        var account = await Infrastructure.Identity.SignUpAsync(host);
        await Envelope.SuccessAsync(await account.GetAsync("auth/me"));

        await Task.Delay(1500);

        await Envelope.ErrorAsync(await account.GetAsync("auth/me"), HttpStatusCode.Unauthorized, "session_expired");
    }

    [Fact]
    public async Task Session_expires_at_its_absolute_lifetime_however_busy()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["Identity:SessionLifetime"] = "00:00:02" });
        var account = await Infrastructure.Identity.SignUpAsync(host);
        var deadline = DateTime.UtcNow.AddSeconds(3);
        HttpStatusCode last;
        do
        {
            last = (await account.GetAsync("auth/me")).StatusCode;
            await Task.Delay(200);
        }
        while (last == HttpStatusCode.OK && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.Unauthorized, last);
    }

    [Fact]
    public async Task Cookie_authenticated_write_without_the_right_csrf_token_is_refused()
    {
        var account = await Infrastructure.Identity.SignUpAsync(_host);

        var missing = await account.SendAsync(HttpMethod.Post, "keys", new { name = "no token" }, csrf: false);
        var wrongResponse = await (account with { CsrfToken = "not-the-token" }).SendAsync(HttpMethod.Post, "keys", new { name = "wrong token" });

        await Envelope.ErrorAsync(missing, HttpStatusCode.Forbidden, "csrf_failed");
        await Envelope.ErrorAsync(wrongResponse, HttpStatusCode.Forbidden, "csrf_failed");
        await Envelope.SuccessAsync(await account.SendAsync(HttpMethod.Post, "keys", new { name = "with token" }), HttpStatusCode.Created);
        await Envelope.ErrorAsync(await account.SendAsync(HttpMethod.Post, "auth/logout", csrf: false), HttpStatusCode.Forbidden, "csrf_failed");
    }

    [Fact]
    public async Task Request_without_credentials_answers_401()
    {
        await Envelope.ErrorAsync(await _host.Client.GetAsync("auth/me"), HttpStatusCode.Unauthorized, "unauthenticated");
    }

    [Fact]
    public async Task Forged_session_cookie_answers_401()
    {
        var response = await _host.Client.SendAsync(Infrastructure.Identity.WithCookie(HttpMethod.Get, "auth/me", "aisoule_session=" + new string('A', 43)));

        await Envelope.ErrorAsync(response, HttpStatusCode.Unauthorized, "session_expired");
    }

    private async Task<(HttpResponseMessage Response, double Milliseconds)> TimedLoginAsync(string email, string password, string address)
    {
        var clock = Stopwatch.StartNew();
        var response = await LoginFromAsync(email, password, address);
        return (response, clock.Elapsed.TotalMilliseconds);
    }

    private Task<HttpResponseMessage> LoginFromAsync(string email, string password, string address)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "auth/login") { Content = JsonContent.Create(new { email, password }) };
        request.Headers.Add("X-Forwarded-For", address);
        return _host.Client.SendAsync(request);
    }
}
