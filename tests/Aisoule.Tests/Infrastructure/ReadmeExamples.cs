using System.Text;
using System.Text.RegularExpressions;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// The shell examples of the README, as written: every fenced <c>bash</c>/<c>sh</c> block with a curl in it (but those
/// fenced <c>bash azure</c>, which need an Azure subscription) and every inline <c>`curl …`</c>, in document order, cut into statements (a line and its <c>\</c> continuations). A comment
/// right under a statement that looks like what it prints (<c># {…}</c>, <c># HTTP/1.1 …</c>, <c># Header: value</c>,
/// and the indented comment lines that continue it) is that statement's expected output, where <c>…</c> stands for
/// anything; a trailing <c>(201)</c> names the status for the reader (curl -s does not print it, so it is not checked).
/// </summary>
internal static partial class ReadmeExamples
{
    public sealed record Statement(int Line, string Code, string? Expected)
    {
        /// <summary>The expected output as a pattern: <c>…</c> matches anything, the rest literally.</summary>
        public Regex? Pattern => Expected is null
            ? null
            : new Regex("^" + string.Join(".*?", Expected.Split('…').Select(Regex.Escape)) + "$", RegexOptions.Singleline);
    }

    public static IReadOnlyList<Statement> Read(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var statements = new List<Statement>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = Fence().Match(lines[i]);
            if (fence.Success)
            {
                var indent = fence.Groups["indent"].Value.Length;
                var end = i + 1;
                while (end < lines.Length && !lines[end].TrimStart().StartsWith("```", StringComparison.Ordinal))
                {
                    end++;
                }

                var body = lines[(i + 1)..end].Select(l => l.Length >= indent && string.IsNullOrWhiteSpace(l[..indent]) ? l[indent..] : l.TrimStart()).ToArray();
                if (fence.Groups["lang"].Value is "bash" or "sh" && !fence.Groups["info"].Value.Contains("azure", StringComparison.Ordinal) && body.Any(l => l.Contains("curl ", StringComparison.Ordinal)))
                {
                    statements.AddRange(Block(body, i + 2));
                }

                i = end;
                continue;
            }

            foreach (Match inline in InlineCurl().Matches(lines[i]))
            {
                statements.Add(new Statement(i + 1, inline.Groups["code"].Value, null));
            }
        }

        return statements;
    }

    private static IEnumerable<Statement> Block(string[] body, int firstLine)
    {
        for (var i = 0; i < body.Length; i++)
        {
            var line = body[i];
            if (string.IsNullOrWhiteSpace(line) || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            var start = i;
            var code = new StringBuilder(line);
            while (body[i].TrimEnd().EndsWith('\\') || OpenQuote(code.ToString()))
            {
                i++;
                code.Append('\n').Append(body[i]);
            }

            var expected = new StringBuilder();
            var j = i + 1;
            if (j < body.Length && ExpectationStart().IsMatch(body[j]))
            {
                expected.Append(body[j][2..].Trim());
                for (j++; j < body.Length && Continuation().IsMatch(body[j]); j++)
                {
                    var text = body[j][1..];
                    if (text.StartsWith("  ", StringComparison.Ordinal))
                    {
                        expected.Append(text.Trim());
                    }
                    else
                    {
                        expected.Append('\n').Append(text.Trim());
                    }
                }
            }

            var want = expected.Length == 0 ? null : Status().Replace(expected.ToString(), "");
            yield return new Statement(firstLine + start, code.ToString(), want);
        }
    }

    // A statement whose single quotes are not yet closed goes on past the line end (a JSON body over several lines).
    private static bool OpenQuote(string code)
    {
        var single = false;
        var dbl = false;
        for (var k = 0; k < code.Length; k++)
        {
            var c = code[k];
            if (c == '\\' && !single)
            {
                k++;
            }
            else if (c == '\'' && !dbl)
            {
                single = !single;
            }
            else if (c == '"' && !single)
            {
                dbl = !dbl;
            }
            else if (c == '#' && !single && !dbl && (k == 0 || char.IsWhiteSpace(code[k - 1])))
            {
                // A comment to the end of the line.
                var newline = code.IndexOf('\n', k);
                if (newline < 0)
                {
                    break;
                }

                k = newline;
            }
        }

        return single || dbl;
    }

    [GeneratedRegex(@"^(?<indent>\s*)```(?<lang>[a-z]*)(?<info>[^`]*)$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"`(?<code>(?:[A-Z_]+=\$\()?curl [^`]+)`")]
    private static partial Regex InlineCurl();

    // What a command prints: an envelope, a status line, or one header.
    [GeneratedRegex(@"^# (\{|HTTP/\d|[A-Za-z][A-Za-z0-9-]*: \S+$)")]
    private static partial Regex ExpectationStart();

    // The following comment lines of the same output: indented continuations of a long envelope, or further
    // status/header lines.
    [GeneratedRegex(@"^#(  +\S|\s(HTTP/\d|[A-Za-z][A-Za-z0-9-]*: \S+$))")]
    private static partial Regex Continuation();

    [GeneratedRegex(@"\s+\(\d{3}\)$")]
    private static partial Regex Status();
}
