using Spectre.Console;
using Spectre.Console.Cli;

namespace OtNative.Cli.Commands;

/// <summary><c>otnative info</c>: what can run here (<see cref="OtNativeEnvironment"/>).</summary>
public sealed class InfoCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellation)
    {
        var table = new Table().AddColumn("component").AddColumn("status");
        foreach (var (component, status) in OtNativeEnvironment.Describe().Rows())
            table.AddRow(Markup.Escape(component), Markup.Escape(status));
        AnsiConsole.Write(table);
        return 0;
    }
}
