set terminal pngcairo noenhanced size 1100,750 font 'Sans,12'
set output 'error-vs-weight-decay.png'
set title 'final test error against weight decay (mean and 95% CI over seeds)'
set xlabel 'weight decay, log scale'
set ylabel 'final test error (%)'
set grid
set key at screen 0.5, screen 0.01 center bottom horizontal Left reverse box maxcols 3 samplen 2
set bmargin 8
set datafile missing 'NaN'
set logscale x 10
set xtics ('0' 7.5e-05, '0.0003' 0.0003, '0.001' 0.001, '0.003' 0.003, '0.01' 0.01, '0.03' 0.03, '0.1' 0.1)
set xrange [4.8704034590131486e-05:0.15399134924069854]
set yrange [9.915498081403907:94.41646095221193]
plot 'error-vs-weight-decay.dat' index 0 using ($1*0.824141239989916):2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title '1 epochs', \
     'error-vs-weight-decay.dat' index 1 using ($1*0.9078222513190101):2:3 with yerrorlines linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title '2 epochs', \
     'error-vs-weight-decay.dat' index 2 using ($1*1):2:3 with yerrorlines linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title '4 epochs', \
     'error-vs-weight-decay.dat' index 3 using ($1*1.101537221132288):2:3 with yerrorlines linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#d62728' dashtype 1 title '8 epochs', \
     'error-vs-weight-decay.dat' index 4 using ($1*1.2133842495398433):2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#9467bd' dashtype 1 title '16 epochs'
set terminal svg noenhanced size 1100,750 dynamic font 'Sans,12'
set output 'error-vs-weight-decay.svg'
replot
unset output
