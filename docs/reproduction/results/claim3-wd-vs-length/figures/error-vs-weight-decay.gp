set terminal pngcairo noenhanced size 1100,650 font 'Sans,12'
set output 'error-vs-weight-decay.png'
set title 'final test error against weight decay (mean and std over seeds)'
set xlabel 'weight decay, log scale'
set ylabel 'final test error (%)'
set grid
set key outside right top box
set datafile missing 'NaN'
set logscale x 10
set xtics ('1e-05' 1e-05, '3e-05' 3e-05, '0.0001' 0.0001, '0.0003' 0.0003, '0.001' 0.001, '0.003' 0.003, '0.01' 0.01)
set xrange [6.60693448007596e-06:0.015135612484362083]
set yrange [9.559929365464024:16.190070634535978]
plot 'error-vs-weight-decay.dat' index 0 using 1:2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#1f77b4' dashtype 1 title '2 epochs', \
     'error-vs-weight-decay.dat' index 1 using 1:2:3 with yerrorlines linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '#ff7f0e' dashtype 1 title '4 epochs', \
     'error-vs-weight-decay.dat' index 2 using 1:2:3 with yerrorlines linewidth 2 pointtype 9 pointsize 0.8 linecolor rgb '#2ca02c' dashtype 1 title '8 epochs', \
     'error-vs-weight-decay.dat' index 3 using 1:2:3 with yerrorlines linewidth 2 pointtype 11 pointsize 0.8 linecolor rgb '#d62728' dashtype 1 title '16 epochs', \
     'error-vs-weight-decay.dat' index 4 using 1:2:3 with yerrorlines linewidth 2 pointtype 5 pointsize 0.8 linecolor rgb '#9467bd' dashtype 1 title '32 epochs'
set terminal svg noenhanced size 1100,650 dynamic font 'Sans,12'
set output 'error-vs-weight-decay.svg'
replot
unset output
