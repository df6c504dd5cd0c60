using System.Net;
using System.Net.Http.Json;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Identity;

public sealed class SignupThrottleTests
{
    [Fact]
    public async Task Burst_of_200_parallel_signups_from_one_address_answers_429_after_the_limit_and_only_admitted_ones_hash()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?> { ["Identity:SignupAddressLimit"] = "5" });
        using var hashes = new PasswordHashCount(host);

        var emails = Enumerable.Range(0, 200).Select(_ => Infrastructure.Identity.NewEmail()).ToList();
        var responses = await Task.WhenAll(emails.Select(email => SignUpAsync(host, email)));

        var created = responses.Count(r => r.StatusCode == HttpStatusCode.Created);
        Assert.InRange(created, 1, 5);
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            await Envelope.ErrorAsync(refused, HttpStatusCode.TooManyRequests, "too_many_attempts");
            Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After missing");
        }

        Assert.Equal(created, hashes.Value);
        var late = await SignUpAsync(host, Infrastructure.Identity.NewEmail());
        await Envelope.ErrorAsync(late, HttpStatusCode.TooManyRequests, "too_many_attempts");
        Assert.InRange(late.Headers.RetryAfter!.Delta!.Value.TotalMinutes, 55, 60);
        Assert.Equal(created, hashes.Value);
    }

    [Fact]
    public async Task Signups_are_limited_in_total_across_client_addresses()
    {
        await using var host = await TestHost.StartAsync(new Dictionary<string, string?>
        {
            ["LocalHost:TrustedProxies"] = "127.0.0.1",
            ["Identity:SignupAddressLimit"] = "10",
            ["Identity:SignupTotalLimit"] = "3",
        });
        for (var i = 0; i < 3; i++)
        {
            await Envelope.SuccessAsync(await SignUpAsync(host, Infrastructure.Identity.NewEmail(), $"10.20.0.{i}"), HttpStatusCode.Created);
        }

        var response = await SignUpAsync(host, Infrastructure.Identity.NewEmail(), "10.20.0.9");

        await Envelope.ErrorAsync(response, HttpStatusCode.TooManyRequests, "too_many_attempts");
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task Signup_refused_for_the_total_does_not_use_up_the_address_allowance()
    {
        var settings = new Dictionary<string, string?>
        {
            ["LocalHost:TrustedProxies"] = "127.0.0.1",
            ["Identity:SignupAddressLimit"] = "1",
            ["Identity:SignupTotalLimit"] = "1",
        };
        await using var host = await TestHost.StartAsync(settings);
        await Envelope.SuccessAsync(await SignUpAsync(host, Infrastructure.Identity.NewEmail(), "10.21.0.1"), HttpStatusCode.Created);
        await Envelope.ErrorAsync(await SignUpAsync(host, Infrastructure.Identity.NewEmail(), "10.21.0.2"), HttpStatusCode.TooManyRequests, "too_many_attempts");

        // A second instance on the same storage allowing one more in total: the refused address still has its one sign-up.
        settings["Identity:SignupTotalLimit"] = "2";
        await using var roomier = await TestHost.StartAsync(settings, prefix: host.Prefix);

        await Envelope.SuccessAsync(await SignUpAsync(roomier, Infrastructure.Identity.NewEmail(), "10.21.0.2"), HttpStatusCode.Created);
    }

    [Fact]
    public async Task Signup_with_an_existing_email_answers_409_without_hashing_a_password()
    {
        await using var host = await TestHost.StartAsync();
        using var hashes = new PasswordHashCount(host);
        var account = await Infrastructure.Identity.SignUpAsync(host);
        Assert.Equal(1, hashes.Value);

        var response = await SignUpAsync(host, account.Email.ToUpperInvariant());

        await Envelope.ErrorAsync(response, HttpStatusCode.Conflict, "email_taken");
        Assert.Equal(1, hashes.Value);
    }

    [Fact]
    public async Task Racing_signups_of_one_email_make_exactly_one_account()
    {
        await using var host = await TestHost.StartAsync();
        var email = Infrastructure.Identity.NewEmail();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            host.Client.PostAsJsonAsync("auth/signup", new { email, password = $"password number {i}", name = "A", workspace_name = "W" })));

        var winner = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        foreach (var loser in responses.Where(r => r != winner))
        {
            await Envelope.ErrorAsync(loser, HttpStatusCode.Conflict, "email_taken");
        }

        var password = $"password number {Array.IndexOf(responses, winner)}";
        var me = await Envelope.SuccessAsync(await host.Client.PostAsJsonAsync("auth/login", new { email, password }));
        Assert.Equal((await Envelope.SuccessAsync(winner, HttpStatusCode.Created)).GetProperty("workspace").GetProperty("id").GetString(), me.GetProperty("workspace").GetProperty("id").GetString());
    }

    private static Task<HttpResponseMessage> SignUpAsync(TestHost host, string email, string? forwardedFor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "auth/signup")
        {
            Content = JsonContent.Create(new { email, password = Infrastructure.Identity.Password, name = "Asha", workspace_name = "Acme" }),
        };
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        return host.Client.SendAsync(request);
    }
}
